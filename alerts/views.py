from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from alerts import services
from alerts.forms import PreferenceForm
from alerts.models import Notice


@login_required
def inbox(request: HttpRequest) -> HttpResponse:
    notices = Notice.objects.filter(user=request.user).order_by("-created_at", "-pk")
    page = Paginator(notices, 25).get_page(request.GET.get("page"))
    rows = [{"notice": n, "message": services.message(n), "url": services.link(n)} for n in page]
    return render(request, "alerts/inbox.html", {"page": page, "rows": rows})


@login_required
@require_POST
def notice_read(request: HttpRequest, pk: int) -> HttpResponse:
    """Mark one notice read; with ``open``, follow it to its node or actuals."""
    try:
        notice = services.mark_read(request.user, pk, now=timezone.now())
    except Notice.DoesNotExist:
        raise Http404 from None
    return redirect(services.link(notice) if request.POST.get("open") else "alerts:inbox")


@login_required
@require_POST
def read_all(request: HttpRequest) -> HttpResponse:
    services.mark_all_read(request.user, now=timezone.now())
    return redirect("alerts:inbox")


@login_required
def preferences(request: HttpRequest) -> HttpResponse:
    form = PreferenceForm(request.POST or None, instance=services.preference(request.user))
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("Your alert preferences were saved."))
        return redirect("alerts:preferences")
    return render(request, "alerts/preferences.html", {"form": form})
