"""The six demo clips: one topic each, so a query finds one clip and not the others.

Each clip mixes facts that are only spoken, facts that are only written on screen and drawn
objects, so that every search modality has something only it can find. Scene functions draw a
whole frame given the seconds since their scene began.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from assets import demo_drawing as dd
from assets.demo_spec import HEIGHT, WIDTH, Cue, DemoVideo, Query, Scene

_RAIN = np.random.default_rng(seed=7).uniform((0, 0, 260), (WIDTH, 260, 420), size=(90, 3))


# --- banana bread: a recipe -------------------------------------------------------------------


def _bread_title(img: Image.Image, t: float) -> None:
    dd.fill_gradient(img, (255, 230, 160), (235, 165, 75))
    draw = ImageDraw.Draw(img)
    dd.text(draw, (320, 70), "Banana Bread", 62, (90, 45, 10))
    dd.text(draw, (320, 125), "Weekend baking", 28, (120, 70, 20), bold=False)
    dd.loaf(draw, (190, 200, 450, 320))
    for k in range(3):  # steam rising off the loaf
        x = 260 + 60 * k + 6 * np.sin(3 * t + k)
        draw.line(
            [(x, 185 - 10 * (t % 1)), (x + 8, 160 - 10 * (t % 1))], fill=(255, 250, 240), width=4
        )


def _bread_oven(img: Image.Image, t: float) -> None:
    dd.fill_gradient(img, (215, 225, 235), (170, 180, 190))
    draw = ImageDraw.Draw(img)
    dd.oven(draw, (50, 60, 300, 340), glow=min(1.0, t / 3))
    draw.rounded_rectangle((340, 110, 610, 250), radius=14, fill=(255, 255, 255))
    dd.text(draw, (475, 150), "Bake for", 40, (40, 40, 40))
    dd.text(draw, (475, 210), "50 minutes", 40, (200, 60, 20))


def _bread_ingredients(img: Image.Image, t: float) -> None:
    dd.fill_gradient(img, (255, 248, 230), (250, 235, 200))
    draw = ImageDraw.Draw(img)
    dd.text(draw, (40, 50), "Ingredients", 44, (90, 45, 10), anchor="lm")
    lines = ["3 ripe bananas", "2 cups of flour", "1 egg", "1 tsp baking soda"]
    for index, line in enumerate(lines[: 1 + int(t / 0.8)]):  # one more line every 0.8 s
        y = 120 + 55 * index
        draw.ellipse((48, y - 7, 62, y + 7), fill=(200, 140, 20))
        dd.text(draw, (80, y), line, 32, (50, 40, 30), bold=False, anchor="lm")


BANANA_BREAD = DemoVideo(
    name="banana_bread.mp4",
    scenes=[Scene(4.0, _bread_title), Scene(4.0, _bread_oven), Scene(4.0, _bread_ingredients)],
    cues=[
        Cue(0.4, "Today we are making banana bread."),
        Cue(3.2, "First, pre-heat the oven to two hundred degrees."),
        Cue(7.8, "Then mash three ripe bananas with a fork."),
    ],
    queries=[
        Query(
            "demo_bread_speech",
            "set the oven to 200 degrees",
            "speech",
            3.2,
            "First, pre-heat the oven to two hundred degrees.",
        ),
        Query(
            "demo_bread_ocr", "bake the loaf for 50 minutes", "ocr", 6.0, "Bake for / 50 minutes"
        ),
    ],
    voice="en-us+m3",
    metadata={"title": "Banana Bread", "comment": "Project demo clip: a recipe in three steps"},
)

# --- weather report ----------------------------------------------------------------------------


def _weather_intro(img: Image.Image, t: float) -> None:
    dd.fill_gradient(img, (20, 70, 160), (10, 30, 80))
    draw = ImageDraw.Draw(img)
    dd.banner(draw, (150, 40, 490, 120), (230, 60, 40), "WEATHER", 56)
    dd.text(draw, (320, 150), "Evening forecast", 28, bold=False)
    dd.sun(draw, (230, 260), 45, turn=t / 8)
    dd.cloud(draw, (400 + 10 * np.sin(t), 265), 1.2, (235, 240, 250))


def _weather_rain(img: Image.Image, t: float) -> None:
    dd.fill_gradient(img, (70, 80, 95), (120, 130, 140))
    draw = ImageDraw.Draw(img)
    dd.raindrops(draw, _RAIN, t, (0, 60, WIDTH, HEIGHT))
    for x in (90, 300, 520):
        dd.cloud(draw, (x + 15 * np.sin(t / 2 + x), 50), 1.5, (60, 65, 75))
    dd.umbrella(draw, (320, 230), 110, (210, 30, 40))


def _weather_weekend(img: Image.Image, t: float) -> None:
    dd.fill_gradient(img, (90, 170, 245), (200, 230, 255))
    draw = ImageDraw.Draw(img)
    dd.sun(draw, (150, 170), 60, turn=t / 6)
    draw.rounded_rectangle((300, 95, 610, 265), radius=14, fill=(255, 255, 255))
    dd.text(draw, (455, 140), "SATURDAY", 44, (20, 60, 140))
    dd.text(draw, (455, 215), "Sunny 24°C", 44, (220, 120, 0))


WEATHER_REPORT = DemoVideo(
    name="weather_report.mp4",
    scenes=[Scene(3.5, _weather_intro), Scene(5.0, _weather_rain), Scene(4.5, _weather_weekend)],
    cues=[
        Cue(0.4, "Good evening, here is the weather."),
        Cue(3.7, "Heavy rain is expected on Tuesday, so bring an umbrella."),
        Cue(8.9, "It will be dry and warm at the end of the week."),
    ],
    queries=[
        Query(
            "demo_weather_speech",
            "will it rain heavily on Tuesday",
            "speech",
            3.7,
            "Heavy rain is expected on Tuesday, so bring an umbrella.",
        ),
        Query(
            "demo_weather_ocr",
            "sunny on Saturday with 24 degrees",
            "ocr",
            10.5,
            "SATURDAY / Sunny 24°C",
        ),
        Query(
            "demo_weather_visual",
            "an open umbrella in the rain",
            "visual",
            6.0,
            "red umbrella under falling rain",
        ),
    ],
    voice="en-us+f2",
    metadata={"title": "Evening weather report"},
)

# --- train station announcement ----------------------------------------------------------------

_DEPARTURES = [("10:45", "Edinburgh", "9"), ("11:05", "York", "4"), ("11:20", "Leeds", "2")]


def _station_board(img: Image.Image, t: float) -> None:
    img.paste((15, 20, 45), (0, 0, WIDTH, HEIGHT))
    draw = ImageDraw.Draw(img)
    amber = (255, 190, 0)
    dd.text(draw, (30, 45), "DEPARTURES", 38, amber, anchor="lm")
    for index, (time, town, platform) in enumerate(_DEPARTURES):
        y = 120 + 70 * index
        dd.text(draw, (30, y), time, 30, amber, anchor="lm")
        dd.text(draw, (140, y), town, 30, amber, anchor="lm")
        dd.text(draw, (345, y), f"Platform {platform}", 26, amber, bold=False, anchor="lm")
    dd.clock_face(draw, (555, 95), 70, seconds=10 * 3600 + 41 * 60 + 5 * t)


def _station_platform(img: Image.Image, t: float) -> None:
    dd.fill_gradient(img, (170, 200, 230), (220, 230, 240))
    draw = ImageDraw.Draw(img)
    draw.rectangle((0, 300, WIDTH, HEIGHT), fill=(120, 120, 125))
    dd.banner(draw, (30, 20, 330, 95), (0, 60, 150), "Platform 9", 46)
    dd.clock_face(draw, (440, 70), 50, seconds=10 * 3600 + 44 * 60 + 5 * t)
    dd.traffic_light(draw, (565, 20), 0.8, lit="red" if t < 3.5 else "green")
    dd.train(draw, left=WIDTH - 90 * t, rail_y=290, carriages=3)


TRAIN_STATION = DemoVideo(
    name="train_station.mp4",
    scenes=[Scene(5.5, _station_board), Scene(6.5, _station_platform)],
    cues=[
        Cue(0.4, "Attention please."),
        Cue(2.6, "The ten forty five train to Edinburgh is delayed by fifteen minutes."),
        Cue(8.6, "We apologise for the inconvenience."),
    ],
    queries=[
        Query(
            "demo_train_speech",
            "Edinburgh train running 15 minutes late",
            "speech",
            2.6,
            "The ten forty five train to Edinburgh is delayed by fifteen minutes.",
        ),
        Query(
            "demo_train_ocr",
            "which platform does the York train leave from",
            "ocr",
            2.5,
            "11:05 York Platform 4",
        ),
        Query("demo_train_ocr_sign", "Platform 9 sign above the tracks", "ocr", 8.5, "Platform 9"),
        Query(
            "demo_train_visual",
            "an analog clock at a train station",
            "visual",
            3.0,
            "clock face beside the departure board",
        ),
    ],
    voice="en-gb-x-rp",
    metadata={"title": "Platform announcement", "comment": "Project demo clip: a station"},
)

# --- lecture slide on photosynthesis -----------------------------------------------------------

_BULLETS = [
    "Light energy becomes chemical energy",
    "Takes place in chloroplasts",
    "Uses water and carbon dioxide",
    "Releases oxygen",
]


def _lecture_title(img: Image.Image, t: float) -> None:
    img.paste((250, 250, 245), (0, 0, WIDTH, HEIGHT))
    draw = ImageDraw.Draw(img)
    dd.text(draw, (320, 60), "Biology 101 - Lecture 5", 26, (110, 110, 110), bold=False)
    dd.text(draw, (320, 130), "Photosynthesis", 60, (30, 120, 40))
    dd.sun(draw, (200, 265), 38, turn=t / 10)
    dd.leaf(draw, (420, 265), 170, (70, 160, 60))


def _lecture_bullets(img: Image.Image, t: float) -> None:
    img.paste((250, 250, 245), (0, 0, WIDTH, HEIGHT))
    draw = ImageDraw.Draw(img)
    dd.text(draw, (30, 45), "How plants make food", 38, (30, 120, 40), anchor="lm")
    draw.line([(30, 75), (610, 75)], fill=(30, 120, 40), width=3)
    for index, line in enumerate(_BULLETS):
        y = 125 + 58 * index
        draw.ellipse((34, y - 6, 46, y + 6), fill=(30, 120, 40))
        dd.text(draw, (62, y), line, 28, (30, 30, 30), bold=False, anchor="lm")
    pointer = min(len(_BULLETS) - 1, int(t / 2))  # a laser dot walks down the bullets
    y = 125 + 58 * pointer + 4 * np.sin(6 * t)
    draw.ellipse((600 - 9, y - 9, 600 + 9, y + 9), fill=(230, 0, 0))


PHOTOSYNTHESIS = DemoVideo(
    name="photosynthesis_lecture.mp4",
    scenes=[Scene(4.5, _lecture_title), Scene(7.5, _lecture_bullets)],
    cues=[
        Cue(0.4, "Welcome back. Today's topic is photosynthesis."),
        Cue(5.0, "Plants capture sunlight with chlorophyll."),
        Cue(8.6, "It is the pigment that makes leaves green."),
    ],
    queries=[
        Query(
            "demo_lecture_speech",
            "which pigment makes leaves green",
            "speech",
            5.0,
            "Plants capture sunlight with chlorophyll. It is the pigment that makes leaves green.",
        ),
        Query(
            "demo_lecture_ocr",
            "photosynthesis happens in the chloroplasts",
            "ocr",
            8.0,
            "Takes place in chloroplasts",
        ),
    ],
    voice="en-us+m3",
)

# --- gardening tip -----------------------------------------------------------------------------


def _garden_pot(img: Image.Image, t: float) -> None:
    dd.fill_gradient(img, (150, 205, 250), (215, 240, 255))
    draw = ImageDraw.Draw(img)
    draw.rectangle((0, 290, WIDTH, HEIGHT), fill=(90, 170, 70))
    dd.banner(draw, (20, 20, 330, 85), (40, 120, 50), "Gardening Tip", 36)
    dd.flower_pot(draw, (420, 330), 0.85, sway=8 * np.sin(2 * t))


def _garden_tomatoes(img: Image.Image, t: float) -> None:
    dd.fill_gradient(img, (185, 225, 160), (120, 170, 100))
    draw = ImageDraw.Draw(img)
    draw.rectangle((0, 250, WIDTH, HEIGHT), fill=(110, 75, 45))
    for x in (120, 320, 520):
        draw.line([(x, 250), (x, 40)], fill=(160, 120, 70), width=6)  # cane
        draw.line([(x + 8, 250), (x + 8 + 10 * np.sin(t + x), 60)], fill=(40, 130, 40), width=5)
        for k, (dx, dy) in enumerate(((-30, 90), (30, 140), (-25, 190))):
            r = 20 + 3 * k
            cx, cy = x + dx, dy
            draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=(215, 35, 30))
    draw.rounded_rectangle((40, 262, 600, 350), radius=12, fill=(30, 30, 30))
    dd.text(draw, (320, 288), "Water tomatoes", 32)
    dd.text(draw, (320, 326), "early in the morning", 32)


GARDENING_TIP = DemoVideo(
    name="gardening_tip.mp4",
    scenes=[Scene(4.5, _garden_pot), Scene(5.5, _garden_tomatoes)],
    cues=[
        Cue(0.4, "Here is a quick gardening tip."),
        Cue(3.2, "Plant tomato seedlings deep, and spread mulch to keep the soil moist."),
    ],
    queries=[
        Query(
            "demo_garden_speech",
            "spread mulch so the soil stays moist",
            "speech",
            3.2,
            "Plant tomato seedlings deep, and spread mulch to keep the soil moist.",
        ),
        Query(
            "demo_garden_ocr",
            "best time to water tomatoes is the morning",
            "ocr",
            7.5,
            "Water tomatoes / early in the morning",
        ),
        Query(
            "demo_garden_visual",
            "white daisies in a flower pot",
            "visual",
            2.0,
            "terracotta pot with three daisies",
        ),
    ],
    voice="en-gb-x-rp",
)

# --- cup final score ---------------------------------------------------------------------------


def _football_pitch(img: Image.Image, t: float) -> None:
    draw = ImageDraw.Draw(img)
    for stripe in range(8):
        shade = (50, 150, 60) if stripe % 2 else (60, 165, 70)
        draw.rectangle((stripe * 80, 0, stripe * 80 + 80, HEIGHT), fill=shade)
    draw.line([(320, 0), (320, HEIGHT)], fill=dd.WHITE, width=4)
    draw.ellipse((250, 110, 390, 250), outline=dd.WHITE, width=4)
    x = 90 + 80 * t
    y = 275 - 110 * abs(np.sin(2.2 * t))
    dd.football(img, (x, y), 80, spin=t / 2)
    draw.rectangle((0, 0, 330, 52), fill=(15, 15, 30))
    dd.text(draw, (12, 26), "LIONS 3 - 2 TIGERS", 28, anchor="lm")
    clock = 89 * 60 + 12 + int(t)  # the match clock ticks on with the video
    draw.rectangle((520, 0, WIDTH, 52), fill=(200, 20, 30))
    dd.text(draw, (580, 26), f"{clock // 60}:{clock % 60:02d}", 28)


def _football_full_time(img: Image.Image, t: float) -> None:
    dd.fill_gradient(img, (20, 30, 90), (5, 10, 40))
    draw = ImageDraw.Draw(img)
    dd.text(draw, (320, 70), "CUP FINAL", 30, (255, 210, 0))
    dd.text(draw, (320, 140), "FULL TIME", 56)
    dd.text(draw, (320, 230), "Lions 3 - 2 Tigers", 48, (255, 210, 0))
    dd.football(img, (320, 310), 28, spin=t / 4)


CUP_FINAL = DemoVideo(
    name="cup_final.mp4",
    scenes=[Scene(6.0, _football_pitch), Scene(4.0, _football_full_time)],
    cues=[
        Cue(0.4, "What a match!"),
        Cue(2.2, "The Lions won the cup with a penalty in the final minute."),
    ],
    queries=[
        Query(
            "demo_cup_speech",
            "a late penalty won the cup",
            "speech",
            2.2,
            "The Lions won the cup with a penalty in the final minute.",
        ),
        Query(
            "demo_cup_ocr",
            "final score Lions 3 Tigers 2",
            "ocr",
            8.0,
            "FULL TIME / Lions 3 - 2 Tigers",
        ),
        Query(
            "demo_cup_visual",
            "a soccer ball bouncing on a grass pitch",
            "visual",
            3.0,
            "football bouncing across a striped pitch",
        ),
    ],
    voice="en-us+m3",
    metadata={"title": "Cup final highlights", "comment": "Project demo clip: a match result"},
)

DEMO_VIDEOS: list[DemoVideo] = [
    BANANA_BREAD,
    WEATHER_REPORT,
    TRAIN_STATION,
    PHOTOSYNTHESIS,
    GARDENING_TIP,
    CUP_FINAL,
]
