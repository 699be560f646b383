review_start = "March 1, 2024"
