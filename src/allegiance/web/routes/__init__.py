"""One router per resource: the public form, admin sign-in, surveys, invitations,
responses, dashboards."""
