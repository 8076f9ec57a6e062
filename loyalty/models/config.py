from django.db import models


class ConfigGeneration(models.Model):
    """One row: the configuration generation shared by every process through the database
    (loyalty.configcache, when the Django cache is not shared: no REDIS_URL). Read and bumped with
    plain SQL by configcache; this model exists for the table and its migration."""

    generation = models.BigIntegerField(default=0)

    class Meta:
        db_table = "loyalty_configgeneration"

    def __str__(self) -> str:
        return f"configuration generation {self.generation}"
