"""icpurse.keys"""
