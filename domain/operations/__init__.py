"""Operations: system events, dead letters, the provider ledger, table statistics."""
