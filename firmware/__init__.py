"""icpurse.firmware"""
