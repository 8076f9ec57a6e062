import django.db.models.fields.json
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('customers', '0002_initial'),
        ('events', '0002_initial'),
        ('loyalty', '0001_initial'),
    ]

    operations = [
        migrations.AddIndex(
            model_name='event',
            index=models.Index(django.db.models.fields.json.KeyTransform('referrer', 'data'), condition=models.Q(('action__in', ['opt_in', 'profile'])), name='event_referrer'),
        ),
    ]
