from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render

from factory import roles
from factory.dashboard import selectors
from orders.access import organization_of


@login_required
def operations_center(request):
    """The operations center. Client users land on their portal instead."""
    if not roles.has_role(request.user) and organization_of(request.user) is not None:
        return redirect("portal:home")
    if not roles.has_role(request.user):
        return render(request, "dashboard/no_role.html", status=403)
    return render(request, "dashboard/operations_center.html")


@roles.role_required(roles.SECURITY, roles.OPERATIONS)
def compliance_record(request, pk):
    """The printable compliance record of a sensitive order."""
    return render(request, "dashboard/compliance_record.html", {"record": selectors.compliance_record(order_id=pk)})
