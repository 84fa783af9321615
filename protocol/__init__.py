"""icpurse.protocol"""
# micropython: yes
