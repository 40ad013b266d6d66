# One date and one date-time format in English (UI.md: dates as the locale writes them), the way the
# Chinese locale already has one: Django's own English mixes "Dec. 27, 2026" with "12/27/2026" for the
# SHORT_* names, and its "8:38 p.m." ends a sentence with two periods. A 24-hour clock suits a control room
# that runs day and night. Chinese keeps Django's formats (Y年n月j日 H:i), which are already one of each.
DATE_FORMAT = "j M Y"  # 27 Dec 2026
DATETIME_FORMAT = "j M Y, H:i"  # 27 Dec 2026, 20:38
TIME_FORMAT = "H:i"  # 20:38
SHORT_DATE_FORMAT = DATE_FORMAT
SHORT_DATETIME_FORMAT = DATETIME_FORMAT
