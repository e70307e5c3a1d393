from django.contrib import admin

from pdca.models import Action, Review, ReviewComment


class ReadOnlyAdmin(admin.ModelAdmin):
    """Reviews and actions are written through pdca.services (the forms and the API): the admin
    lists them only."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Review)
class ReviewAdmin(ReadOnlyAdmin):
    list_display = ["node", "period_start", "status", "cause", "author", "updated_at"]
    list_filter = ["status", "cause", "organisation"]


@admin.register(Action)
class ActionAdmin(ReadOnlyAdmin):
    list_display = ["title", "node", "owner", "due_date", "original_due_date", "status"]
    list_filter = ["status", "organisation"]


@admin.register(ReviewComment)
class ReviewCommentAdmin(ReadOnlyAdmin):
    list_display = ["review", "author", "created_at"]
