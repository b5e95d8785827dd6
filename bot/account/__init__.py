"""`/account <name | email | CRM id>`: the lookup (`lookup`), the figures and health (`health`), the service that
answers from the mirror or Zoho (`service`) and the card (`card`)."""
