review_strat  = "2023-01-01"
lookback_days = "ninety"
