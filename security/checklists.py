"""The default checklist of each workshop gate; admins edit them afterwards (security.ChecklistItem)."""

DEFAULT_CHECKLISTS = {
    "data": [
        (
            "Personal information is removed or de-identified, and re-identification risk was assessed.",
            "个人信息已删除或去标识化，并已评估重识别风险。",
        ),
        (
            "A legal basis and the data subjects' consent are recorded for every source.",
            "每个数据来源均已记录合法性基础和数据主体同意。",
        ),
        ("Every data source is licensed for this use.", "所有数据来源均已获得本用途的许可。"),
        (
            "Data residency was respected: sensitive data stayed on trusted in-province pools.",
            "已遵守数据驻留要求：敏感数据仅在省内可信算力池处理。",
        ),
        ("The dataset card documents provenance, versions and checksums.", "数据集说明卡已记录来源、版本和校验和。"),
    ],
    "model": [
        (
            "Evaluation results on the held-out benchmark meet the order's acceptance thresholds.",
            "在留出基准上的评测结果达到订单的验收阈值。",
        ),
        (
            "Bias and fairness checks show no unacceptable disparity between groups.",
            "偏见与公平性检查未发现不可接受的群体差异。",
        ),
        (
            "Robustness checks (perturbed and out-of-distribution inputs) pass.",
            "鲁棒性检查（扰动输入和分布外输入）通过。",
        ),
        (
            "Harmful-output tests found no unmitigated harmful generations.",
            "有害输出测试未发现未加缓解的有害生成内容。",
        ),
        (
            "The model card states intended use, limits and training data.",
            "模型说明卡已写明预期用途、局限性和训练数据。",
        ),
    ],
    "agent": [
        (
            "Red-team results are reviewed and every high finding is fixed.",
            "红队测试结果已复核，所有高危问题均已修复。",
        ),
        ("Tool permissions are least-privilege.", "工具权限遵循最小权限原则。"),
        (
            "Prompt-injection tests pass, including injections through retrieved documents.",
            "提示注入测试通过，包括通过检索文档注入的情形。",
        ),
        ("Guardrails stop out-of-scope and unsafe actions.", "护栏能阻止超范围和不安全的操作。"),
    ],
    "integration": [
        (
            "Access control: single sign-on, roles and audit logging are configured.",
            "访问控制：单点登录、角色和审计日志均已配置。",
        ),
        ("A penetration test found no open high or critical issue.", "渗透测试未发现未关闭的高危或严重问题。"),
        (
            "The deployment configuration is reviewed (secrets, network, backups).",
            "部署配置已审核（密钥、网络、备份）。",
        ),
        (
            "The delivery audit is complete: deliverables, documents and client acceptance.",
            "交付审计已完成：交付物、文档及客户验收。",
        ),
    ],
}


def load_default_checklists(item_model) -> None:
    """Create the default items where a workshop has none (a migration and tests call this)."""
    for workshop, items in DEFAULT_CHECKLISTS.items():
        if item_model.objects.filter(workshop=workshop).exists():
            continue
        item_model.objects.bulk_create(
            item_model(workshop=workshop, position=position, text=text, text_zh=text_zh)
            for position, (text, text_zh) in enumerate(items, start=1)
        )
