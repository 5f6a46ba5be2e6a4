"""Call-event webhooks to the CRM (Standard Webhooks): the events a call's steps write into the
outbox (:mod:`server.webhooks.events`), where they may go (:mod:`server.webhooks.destination`),
their signatures (:mod:`server.webhooks.signing`) and the sender every node runs
(:mod:`server.webhooks.sender`)."""
