from django.core.management.commands import makemessages


class Command(makemessages.Command):
    # factory.notes.plural_note marks a note with a count, kept untranslated until it is shown, as gettext_noop
    # marks one without: xgettext has no marker of its own for a plural kept for later.
    xgettext_options = [*makemessages.Command.xgettext_options, "--keyword=plural_note:1,2"]
