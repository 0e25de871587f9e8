"""The CDS Hooks service under /cds-services (interop/cds)."""

urlpatterns = []
