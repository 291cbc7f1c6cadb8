"""In-app notifications, and the one place an event is recorded for people and webhooks."""
