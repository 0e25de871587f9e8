from rest_framework import generics, status
from rest_framework.response import Response

from accounts.permissions import CapabilityPermission

from ..filters import PatientFilter
from ..permissions import patients_visible_to
from ..selectors import patient_search
from ..services import patient_create, patient_update
from .serializers import PatientSerializer


class PatientListCreateView(generics.ListCreateAPIView):
    """Patients the user may see (`q`: name, mobile or ID number); POST registers one at the
    user's institution. Date of birth and sex are derived from a valid ID number."""

    serializer_class = PatientSerializer
    permission_classes = [CapabilityPermission.of("view_patients")]
    filterset_class = PatientFilter

    def get_queryset(self):
        return patient_search(self.request.user)

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        patient = patient_create(actor=request.user, values=serializer.validated_data)
        return Response(self.get_serializer(patient).data, status=status.HTTP_201_CREATED)


class PatientDetailView(generics.RetrieveUpdateAPIView):
    serializer_class = PatientSerializer
    permission_classes = [CapabilityPermission.of("view_patients")]
    http_method_names = ["get", "patch", "head", "options"]

    def get_queryset(self):
        return patients_visible_to(self.request.user).prefetch_related("allergies")

    def update(self, request, *args, **kwargs):
        patient = self.get_object()
        serializer = self.get_serializer(patient, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        patient = patient_update(actor=request.user, patient=patient, values=serializer.validated_data)
        return Response(self.get_serializer(patient).data)
