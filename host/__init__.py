"""icpurse.host"""
