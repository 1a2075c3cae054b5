"""Patient portal URLs, mounted at /portal/."""

from django.contrib.auth import views as auth_views
from django.urls import path, reverse_lazy

from portal import forms, offline, questionnaires, views

app_name = "portal"

urlpatterns = [
    path("login/", views.PortalLoginView.as_view(), name="login"),
    path("logout/", views.PortalLogoutView.as_view(), name="logout"),
    # The service worker lives at the portal's root, so its scope is the portal.
    path("sw.js", offline.service_worker, name="service_worker"),
    path("manifest.webmanifest", offline.manifest, name="manifest"),
    path("welcome/", views.welcome_form, name="welcome_form"),
    path("welcome/<str:token>/", views.welcome, name="welcome"),
    path(
        "password-reset/",
        views.PortalPasswordResetView.as_view(
            form_class=forms.PortalPasswordResetForm,
            template_name="portal/password_reset_form.html",
            email_template_name="portal/email/password_reset_body.txt",
            subject_template_name="portal/email/password_reset_subject.txt",
            success_url=reverse_lazy("portal:password_reset_done"),
        ),
        name="password_reset",
    ),
    path(
        "password-reset/sent/",
        auth_views.PasswordResetDoneView.as_view(template_name="portal/password_reset_done.html"),
        name="password_reset_done",
    ),
    path(
        "password-reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(
            form_class=forms.PortalSetPasswordForm,
            template_name="portal/password_reset_confirm.html",
            success_url=reverse_lazy("portal:password_reset_complete"),
        ),
        name="password_reset_confirm",
    ),
    path(
        "password-reset/done/",
        auth_views.PasswordResetCompleteView.as_view(
            template_name="portal/password_reset_complete.html"
        ),
        name="password_reset_complete",
    ),
    path("", views.today, name="today"),
    path("log/<int:plan_id>/<str:day>/<int:session_number>/", views.log_session, name="log"),
    path("keep-alive/", views.keep_alive, name="keep_alive"),
    path("plan/", views.my_plan, name="plan"),
    path("plan/<int:plan_id>/handout/", views.handout, name="handout"),
    path("history/", views.history, name="history"),
    path("settings/", views.portal_settings, name="settings"),
    path("settings/calendar/", views.calendar_settings, name="calendar_settings"),
    path("calendar/<str:key>/<str:secret>.ics", views.calendar_feed, name="calendar_feed"),
    path(
        "questionnaire/<int:measure_id>/start/",
        questionnaires.start,
        name="questionnaire_start",
    ),
    path(
        "questionnaire/answers/<int:response_id>/<int:number>/",
        questionnaires.step,
        name="questionnaire_step",
    ),
    path(
        "questionnaire/answers/<int:response_id>/",
        questionnaires.review,
        name="questionnaire_review",
    ),
    path("settings/my-data/", views.download_my_data, name="my_data"),
]
