"""The FHIR R4 read API under /fhir/ (interop/fhir)."""

urlpatterns = []
