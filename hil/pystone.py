# micropython: yes
"""Pystone 1.2 (R. P. Weicker's Dhrystone 1.1 as translated to Python by Chapman), written here
for `make bench`: the benchmark published MicroPython figures for the ESP32 use
(micropython-lib's `pystone_lowmem`, the same loop with a smaller default pass count), so that a
run under the MicroPython interpreter `make bench` measures in gives the factor from this
machine's MicroPython to an ESP32's (docs/reader.md, "Firmware CPU").

`run(passes)` returns (pystones per second, microseconds per pass); it runs on CPython and on
MicroPython. The loop body is the benchmark's, operation for operation; only the timer differs.
"""
try:
    from time import ticks_diff, ticks_us
except ImportError:  # CPython
    from time import perf_counter_ns

    def ticks_us():
        return perf_counter_ns() // 1000

    def ticks_diff(a, b):
        return a - b

IDENT1, IDENT2, IDENT3, IDENT4, IDENT5 = 1, 2, 3, 4, 5
TRUE, FALSE = 1, 0


class Record:
    def __init__(self, ptr_comp=None, discr=0, enum_comp=0, int_comp=0, string_comp=0):
        self.PtrComp = ptr_comp
        self.Discr = discr
        self.EnumComp = enum_comp
        self.IntComp = int_comp
        self.StringComp = string_comp

    def copy(self):
        return Record(self.PtrComp, self.Discr, self.EnumComp, self.IntComp, self.StringComp)


IntGlob = 0
BoolGlob = FALSE
Char1Glob = "\0"
Char2Glob = "\0"
Array1Glob = [0] * 51
Array2Glob = [[0] * 51 for _ in range(51)]
PtrGlb = None
PtrGlbNext = None


def proc0(loops):
    global IntGlob, BoolGlob, Char1Glob, Char2Glob, Array1Glob, Array2Glob, PtrGlb, PtrGlbNext
    t = ticks_us()
    for _ in range(loops):
        pass
    nulltime = ticks_diff(ticks_us(), t)
    PtrGlbNext = Record()
    PtrGlb = Record()
    PtrGlb.PtrComp = PtrGlbNext
    PtrGlb.Discr = IDENT1
    PtrGlb.EnumComp = IDENT3
    PtrGlb.IntComp = 40
    PtrGlb.StringComp = "DHRYSTONE PROGRAM, SOME STRING"
    string1_loc = "DHRYSTONE PROGRAM, 1'ST STRING"
    Array2Glob[8][7] = 10
    t = ticks_us()
    for _ in range(loops):
        proc5()
        proc4()
        int_loc1 = 2
        int_loc2 = 3
        string2_loc = "DHRYSTONE PROGRAM, 2'ND STRING"
        enum_loc = IDENT2
        BoolGlob = not func2(string1_loc, string2_loc)
        while int_loc1 < int_loc2:
            int_loc3 = 5 * int_loc1 - int_loc2
            int_loc3 = proc7(int_loc1, int_loc2)
            int_loc1 = int_loc1 + 1
        proc8(Array1Glob, Array2Glob, int_loc1, int_loc3)
        PtrGlb = proc1(PtrGlb)
        char_index = "A"
        while char_index <= Char2Glob:
            if enum_loc == func1(char_index, "C"):
                enum_loc = proc6(IDENT1)
            char_index = chr(ord(char_index) + 1)
        int_loc3 = int_loc2 * int_loc1
        int_loc2 = int_loc3 // int_loc1
        int_loc2 = 7 * (int_loc3 - int_loc2) - int_loc1
        int_loc1 = proc2(int_loc1)
    return ticks_diff(ticks_us(), t) - nulltime


def proc1(ptr_par_in):
    ptr_par_in.PtrComp = next_record = PtrGlb.copy()
    ptr_par_in.IntComp = 5
    next_record.IntComp = ptr_par_in.IntComp
    next_record.PtrComp = ptr_par_in.PtrComp
    next_record.PtrComp = proc3(next_record.PtrComp)
    if next_record.Discr == IDENT1:
        next_record.IntComp = 6
        next_record.EnumComp = proc6(ptr_par_in.EnumComp)
        next_record.PtrComp = PtrGlb.PtrComp
        next_record.IntComp = proc7(next_record.IntComp, 10)
    else:
        ptr_par_in = next_record.copy()
    next_record.PtrComp = None
    return ptr_par_in


def proc2(int_par_io):
    int_loc = int_par_io + 10
    while 1:
        if Char1Glob == "A":
            int_loc = int_loc - 1
            int_par_io = int_loc - IntGlob
            enum_loc = IDENT1
        if enum_loc == IDENT1:
            break
    return int_par_io


def proc3(ptr_par_out):
    global IntGlob
    if PtrGlb is not None:
        ptr_par_out = PtrGlb.PtrComp
    else:
        IntGlob = 100
    PtrGlb.IntComp = proc7(10, IntGlob)
    return ptr_par_out


def proc4():
    global Char2Glob
    bool_loc = Char1Glob == "A"
    bool_loc = bool_loc or BoolGlob
    Char2Glob = "B"


def proc5():
    global Char1Glob, BoolGlob
    Char1Glob = "A"
    BoolGlob = FALSE


def proc6(enum_par_in):
    enum_par_out = enum_par_in
    if not func3(enum_par_in):
        enum_par_out = IDENT4
    if enum_par_in == IDENT1:
        enum_par_out = IDENT1
    elif enum_par_in == IDENT2:
        if IntGlob > 100:
            enum_par_out = IDENT1
        else:
            enum_par_out = IDENT4
    elif enum_par_in == IDENT3:
        enum_par_out = IDENT2
    elif enum_par_in == IDENT4:
        pass
    elif enum_par_in == IDENT5:
        enum_par_out = IDENT3
    return enum_par_out


def proc7(int_par_i1, int_par_i2):
    int_loc = int_par_i1 + 2
    int_par_out = int_par_i2 + int_loc
    return int_par_out


def proc8(array1_par, array2_par, int_par_i1, int_par_i2):
    global IntGlob
    int_loc = int_par_i1 + 5
    array1_par[int_loc] = int_par_i2
    array1_par[int_loc + 1] = array1_par[int_loc]
    array1_par[int_loc + 30] = int_loc
    for int_index in range(int_loc, int_loc + 2):
        array2_par[int_loc][int_index] = int_loc
    array2_par[int_loc][int_loc - 1] = array2_par[int_loc][int_loc - 1] + 1
    array2_par[int_loc + 20][int_loc] = array1_par[int_loc]
    IntGlob = 5


def func1(char_par1, char_par2):
    char_loc1 = char_par1
    char_loc2 = char_loc1
    if char_loc2 != char_par2:
        return IDENT1
    return IDENT2


def func2(str_par_i1, str_par_i2):
    int_loc = 1
    while int_loc <= 1:
        if func1(str_par_i1[int_loc], str_par_i2[int_loc + 1]) == IDENT1:
            char_loc = "A"
            int_loc = int_loc + 1
    if char_loc >= "W" and char_loc <= "Z":
        int_loc = 7
    if char_loc == "X":
        return TRUE
    if str_par_i1 > str_par_i2:
        int_loc = int_loc + 7
        return TRUE
    return FALSE


def func3(enum_par_in):
    enum_loc = enum_par_in
    if enum_loc == IDENT3:
        return TRUE
    return FALSE


def run(passes=500):
    """(pystones per second, microseconds per pass) over `passes` passes."""
    global Array1Glob, Array2Glob
    Array1Glob = [0] * 51
    Array2Glob = [[0] * 51 for _ in range(51)]
    us = proc0(passes)
    if us <= 0:
        us = 1
    return passes * 1000000 // us, us / passes
