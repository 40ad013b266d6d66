from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from orders.access import require_organization


@login_required
def portal_home(request):
    organization = require_organization(request.user)
    return render(request, "orders/portal_home.html", {"organization": organization})
