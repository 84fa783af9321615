"""icpurse.hil"""
