"""Builders: pure functions from the platform's rows (interop.fhir.selectors) to FHIR R4 resources
as plain dicts, one module per group of resource types. No database access, no request."""
