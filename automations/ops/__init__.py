"""Operations: the product watching itself (heartbeats, /status, alerts)."""
