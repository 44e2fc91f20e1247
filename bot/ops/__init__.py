"""Operations: the clock (scheduler), the command line, the doctor, logs, health and metrics."""
