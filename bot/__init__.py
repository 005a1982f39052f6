"""Golden Path bot: the web side (webhook intake) and the pieces the workers share."""
