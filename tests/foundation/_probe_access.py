import pytest
from django.test import Client

from tests.factories import order_fields
from tests.foundation.test_access_matrix import world  # noqa: F401


def http(user):
    c = Client(raise_request_exception=False)
    c.force_login(user)
    return c


@pytest.mark.django_db
def test_probe(world):  # noqa: F811
    from orders.models import Order

    u = world.users
    a_order = world.ids["order"]
    org_a = Order.objects.get(pk=a_order).client_id
    b = http(u["client_b"])
    out = []
    r = b.post(
        "/api/v1/tickets/", {"order": a_order, "category": "defect", "severity": "low", "subject": "x", "body": "y"}
    )
    out.append(("B api ticket on A order", r.status_code, r.content[:200]))
    r = b.post(
        "/portal/tickets/new/", {"order": a_order, "category": "defect", "severity": "low", "subject": "x", "body": "y"}
    )
    out.append(("B portal ticket on A order", r.status_code, b""))
    f = order_fields()
    f["requested_delivery"] = f["requested_delivery"].isoformat()
    f["client"] = org_a
    r = b.post("/api/v1/orders/", f)
    out.append(("B api order for A", r.status_code, r.content[:200]))
    r = b.get(f"/api/v1/orders/?client={org_a}")
    out.append(("B list client=A", r.status_code, r.content[:200]))
    r = b.get(f"/api/v1/tickets/?order={a_order}")
    out.append(("B tickets order=A", r.status_code, r.content[:200]))
    r = b.get(f"/api/v1/orders/{a_order}/", HTTP_ACCEPT="application/json")
    out.append(("B order detail", r.status_code, r.content[:200]))
    r = b.get("/api/v1/orders/999999/")
    out.append(("B order nonexistent", r.status_code, r.content[:200]))
    r = b.options(f"/api/v1/orders/{a_order}/")
    out.append(("B OPTIONS order A", r.status_code, r.content[:100]))
    r = b.delete(f"/api/v1/orders/{a_order}/")
    out.append(("B DELETE order A", r.status_code, r.content[:100]))
    for role in ("dispatch", "security"):
        f2 = order_fields()
        f2["requested_delivery"] = f2["requested_delivery"].isoformat()
        f2["client"] = org_a
        r = http(u[role]).post("/api/v1/orders/", f2)
        out.append((f"{role} api create order", r.status_code, r.content[:200]))
    a = http(u["client_a"])
    r = a.get("/api/v1/orders/quote/?product_type=model&size=small&priority=urgent&data_sensitivity=internal")
    out.append(("A quote urgent", r.status_code, r.content[:200]))
    r = b.get(f"/portal/tickets/?order={a_order}")
    out.append(("B portal tickets order=A", r.status_code, b""))
    r = b.post(f"/api/v1/tickets/{world.ids['ticket']}/messages/", {"body": "hi"})
    out.append(("B msg on A ticket", r.status_code, r.content[:100]))
    r = a.post(f"/api/v1/tickets/{world.ids['ticket']}/messages/", {"body": "hi", "internal": "true"})
    out.append(("A internal msg", r.status_code, r.content[:200]))
    r = b.get(f"/orders/{a_order}/compliance/")
    out.append(("B compliance", r.status_code, b""))
    r = http(u["dispatch"]).get(f"/security/reviews/{world.ids['review']}/")
    out.append(("dispatch review page", r.status_code, b""))
    r = b.post(f"/dispatch/orders/{a_order}/priority/", {"priority": "high", "reason": "x"})
    out.append(("B dispatch prio", r.status_code, b""))
    r = a.get("/api/v1/me/")
    out.append(("A me", r.status_code, r.content[:200]))
    r = Client().get(f"/track/{world.token}/")
    body = r.content.decode()
    out.append(
        (
            "track leaks title/org?",
            r.status_code,
            str([t for t in ("Organization A", "Discharge", "client-a-user", "ops-user") if t in body]).encode(),
        )
    )
    for row in out:
        print(row)
