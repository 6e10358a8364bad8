from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from accounts.models import Membership, Organization, User


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(User)
class CascadeUserAdmin(UserAdmin):
    fieldsets = (*UserAdmin.fieldsets, ("Cascade", {"fields": ("display_name",)}))
    list_display = ("username", "display_name", "email", "is_staff")


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ("name", "sector", "code")
    list_filter = ("sector",)
    search_fields = ("name",)
    inlines = [MembershipInline]
