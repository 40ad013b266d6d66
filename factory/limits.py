"""How long the texts people write may be, in characters: one name for each kind of text.

The model field (`max_length`), the form and the serializer that take the text and the service that checks it
all read these, so a page, the API and a service refuse the same text. Changing a limit that a model field reads
needs a migration (`makemigrations` says so).
"""

# An order's title, a ticket's subject.
TITLE_MAX = 200
# A reason (rejecting, cancelling, sending back, changing a priority or a pool's state), a comment with a rating,
# a severity change's reason, a review's checklist note or finding.
NOTE_MAX = 2000
# A ticket's message, a note to the client with a ticket's status move, a requirement change.
MESSAGE_MAX = 5000
# An order's requirements.
REQUIREMENTS_MAX = 10_000
# A form's one-time submission key or an API call's Idempotency-Key (factory.submissions).
SUBMISSION_KEY_MAX = 64
