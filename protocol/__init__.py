"""icpurse.protocol"""
