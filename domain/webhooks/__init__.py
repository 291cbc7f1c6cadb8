"""Webhook endpoints (Standard Webhooks) and their durable, ordered deliveries."""
