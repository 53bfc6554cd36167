"""Group-sequential designs: calendar-time accrual, looks, spending and boundaries."""
