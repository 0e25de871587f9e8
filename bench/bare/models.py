from django.db import models


class Row(models.Model):
    note = models.CharField(max_length=50, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"row {self.pk}"
