"""The admin app with the operators' console site (hellojohn_project/console_site.py) as its default site.

Its own module: INSTALLED_APPS imports it before the models are ready, and the site imports models.
"""

from django.contrib.admin.apps import AdminConfig


class ConsoleAdminConfig(AdminConfig):
    default_site = "hellojohn_project.console_site.ConsoleAdminSite"
