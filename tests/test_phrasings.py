"""Table-driven: how patients phrase things, and what the answer must (and must not) say.

Driven through the pure reply logic, without HTTP. ``now`` is a Friday at 10:00 in the
clinic's time zone (open 8am-1pm that day).
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from zoneinfo import ZoneInfo

import pytest

from bot.content import load_content
from bot.replies import Replier
from bot.sms.segments import count_segments, is_gsm7

NY = ZoneInfo("America/New_York")
FRIDAY_10AM = dt.datetime(2026, 11, 27, 10, 0, tzinfo=NY)
YES = "Yes, we accept"

CAT = "Cat and Camel"
PRAYER = "Prayer Stretch"
KNEE = "Knee-to-Chest Raise"
PELVIC = "Pelvic Tilt"
HAM = "Hamstring Stretch"
PIRI = "Piriformis Stretch"
QL = "Quadratus Lumborum"
ABS = "Isometric Abdominal"
BIRD = "Bird Dog"
TRUNK = "Trunk Side and Leg Stretch"
STEPS = "1. "
MENU = "EXERCISES, HOURS, ADDRESS or INSURANCE"
PHONE = "703-723-6800"
E911 = "call 911"

# (text, must contain (all), must not contain (any))
CASES: list[tuple[str, list[str], list[str]]] = [
    # --- exercises by name, with typos, case, punctuation, "&" and missing spaces ---
    ("cat camel", [CAT, STEPS, "hands and knees"], []),
    ("Cat & Camel", [CAT, STEPS], []),
    ("CAT AND CAMEL", [CAT, STEPS], []),
    ("catcamel", [CAT, STEPS], []),
    ("cat-camel?", [CAT, STEPS], []),
    ("cat cow", [CAT, STEPS], []),
    ("how do i do the cat cow stretch", [CAT, STEPS], []),
    ("cat camal", [CAT, STEPS], []),
    ("camel", [CAT], []),
    ("prayer stretch", [PRAYER, STEPS, "heels"], []),
    ("Prayer strech", [PRAYER, STEPS], []),
    ("childs pose", [PRAYER, STEPS], []),
    ("child's pose", [PRAYER, STEPS], []),
    ("knee to chest", [KNEE, STEPS, "Repeat steps 1-3"], []),
    ("Knee-To-Chest Raise", [KNEE, STEPS], []),
    ("kneetochest", [KNEE, STEPS], []),
    ("knee hug", [KNEE, STEPS], []),
    ("knees to chest stretch", [KNEE, STEPS], []),
    ("pelvic tilt", [PELVIC, STEPS], []),
    ("pelvic tilts", [PELVIC, STEPS], []),
    ("pelvick tilt", [PELVIC, STEPS], []),
    ("how do I do a pelvic tilt?", [PELVIC, STEPS], []),
    ("hamstring stretch", [HAM, STEPS], []),
    ("hamstring", [HAM, STEPS], []),
    ("hamstrng stretch", [HAM, STEPS], []),
    ("lying hamstring stretch", [HAM, STEPS], []),
    ("piriformis", [PIRI, STEPS], []),
    ("piriformis strech", [PIRI, STEPS], []),
    ("pirformis stretch", [PIRI, STEPS], []),
    ("periformis", [PIRI, STEPS], []),
    ("Piriformis Stretch!!", [PIRI, STEPS], []),
    ("ql stretch", [QL, STEPS], []),
    ("QL", [QL, STEPS], []),
    ("quadratus lumborum", [QL, STEPS], []),
    ("kneeling quadratus lumborum stretch", [QL, STEPS], []),
    ("quadratis lumborum", [QL, STEPS], []),
    ("isometric abdominal", [ABS, STEPS], []),
    ("isometric abs", [ABS, STEPS], []),
    ("isometirc abdominal", [ABS, STEPS], []),
    ("bird dog", [BIRD, STEPS], []),
    ("birddog", [BIRD, STEPS], []),
    ("bird-dog exercise", [BIRD, STEPS], []),
    ("hip outside leg stretch", [BIRD, STEPS], []),
    ("trunk side and leg stretch", [TRUNK, STEPS], []),
    ("trunk side stretch", [TRUNK, STEPS], []),
    ("side stretch", [TRUNK, STEPS], []),
    ("steps for the cat camel please", [CAT, STEPS], []),
    ("what's the cat camel again", [CAT, STEPS], []),
    ("3", [KNEE, STEPS], []),
    ("10", [TRUNK, STEPS], []),
    ("cat camel and pelvic tilt", [CAT, PELVIC], []),
    # --- the list ---
    ("list exercises", ["1 Cat and Camel", "10 Trunk Side", "Text a name or number"], []),
    ("exercises", [CAT, PRAYER, TRUNK], []),
    ("what exercises do you have", [CAT, TRUNK], []),
    ("stretches?", [CAT, TRUNK], []),
    ("send me the list of stretches", [CAT, TRUNK], []),
    ("exercize list", [CAT, TRUNK], []),
    ("my routine", [CAT, TRUNK], []),
    # --- body areas and complaints ---
    ("what stretches help my lower back", ["lower back", CAT, PRAYER], [STEPS]),
    ("lower back", ["lower back", CAT], [STEPS]),
    ("exercises for low back pain", ["lower back", CAT], [STEPS]),
    ("my back hurts", ["lower back", CAT, "Stop any exercise that hurts"], [STEPS]),
    ("sciatica", ["sciatica", PIRI], [STEPS]),
    ("what helps sciatica", [PIRI], [STEPS]),
    ("sciatic pain", [PIRI], [STEPS]),
    ("tight hamstrings", [HAM], [STEPS]),
    ("stretches for tight hamstrings", [HAM], [STEPS]),
    ("something for my hips", [QL], [STEPS]),
    ("my butt is sore", [PIRI], []),
    ("exercises to strengthen my core", [ABS], [STEPS]),
    ("stronger back", [BIRD], [STEPS]),
    ("good stretches for stiffness in the morning", [PRAYER], [STEPS]),
    ("lumbar", ["lower back", CAT], [STEPS]),
    # --- hours ---
    (
        "Hours?",
        ["Office hours", "Mon 10am-12:30pm & 2pm-5pm", "Fri 8am-1pm", "Sat & Sun closed"],
        [],
    ),
    ("hours", ["Office hours"], []),
    ("what are your hours", ["Office hours"], []),
    ("hrs", ["Office hours"], []),
    ("whats ur hrs", ["Office hours"], []),
    ("when are you open", ["Office hours"], []),
    ("are you open thursday morning", ["Thursday", "2pm-7pm", "Not open in the morning"], []),
    ("open thursday?", ["Thursday", "2pm-7pm"], []),
    ("open Saturday?", ["closed on Saturday"], ["Yes"]),
    ("are you open on sunday", ["closed on Sunday"], []),
    ("are you open this weekend", ["closed on Saturday", "closed on Sunday"], []),
    ("open now?", ["open now", "until 1pm"], []),
    ("are you open right now", ["open now"], []),
    ("are you open today", ["Today", "8am-1pm"], []),
    ("hours tomorrow", ["closed tomorrow"], []),
    ("monday hours", ["Monday", "10am-12:30pm & 2pm-5pm"], []),
    ("are you open wendsday", ["Wednesday", "10am-12:30pm"], []),
    ("open tuesday evening?", ["Tuesday", "2pm-7pm", "Yes, open in the evening"], []),
    ("what time do you close on friday", ["Friday", "8am-1pm"], []),
    ("what time do you open monday", ["Monday", "10am"], []),
    ("is there a lunch break", ["Office hours", "12:30pm"], []),
    ("hours saturday", ["closed on Saturday"], []),
    # --- location ---
    ("where is the office", ["44110 Ashburn Shopping Plaza #158", "Giant", "VA ABC"], []),
    ("address", ["44110 Ashburn Shopping Plaza", "20147"], []),
    ("adress?", ["44110 Ashburn Shopping Plaza"], []),
    ("where are you located", ["44110"], []),
    ("directions please", ["between Giant and VA ABC"], []),
    ("how do i find you", ["Ashburn Village Shopping Plaza"], []),
    ("i cant find the office", ["different from the plaza name"], [E911]),
    ("whats the address", ["44110"], []),
    ("where do i park", ["44110"], []),
    # --- phone / a person ---
    ("can I text someone", [PHONE, "call"], []),
    ("phone number", [PHONE], []),
    ("whats your number", [PHONE], []),
    ("i want to talk to a real person", [PHONE], []),
    ("can someone call me back", [PHONE], [CAT]),
    ("how do i contact you", [PHONE], []),
    # --- insurance: accepted plans ---
    ("do you take Aetna", [YES, "Aetna"], ["not on our list"]),
    ("aetna?", [YES, "Aetna"], []),
    ("bcbs", [YES, "BlueCross BlueShield"], []),
    ("do you accept blue cross", [YES, "BlueCross BlueShield"], []),
    ("blue cross blue shield", [YES, "BlueCross"], []),
    ("cigna", [YES, "Cigna"], []),
    # A misspelling too far from any plan is not guessed at: the list is sent instead.
    ("do you take cigan", ["not on our list", "Cigna"], [YES]),
    ("UHC", [YES, "UnitedHealthcare"], []),
    ("united healthcare ok?", [YES, "UnitedHealthcare"], []),
    ("carefirst", [YES, "CareFirst"], []),
    ("Care First?", [YES, "CareFirst"], []),
    ("medicare", [YES, "Medicare"], []),
    ("do you take medicare", [YES, "Medicare"], []),
    ("phcs", [YES, "PHCS"], []),
    ("optimum choice", [YES, "Optimum Choice"], []),
    ("mail handlers", [YES, "Mail Handlers"], []),
    (
        "i was in a car accident do you take auto insurance",
        [YES, "Auto injury"],
        ["emergency room"],
    ),
    ("workers comp", [YES, "Workers' Comp"], []),
    ("do you take ppo plans", [YES, "PPO/POS"], []),
    ("aetna and cigna", [YES, "Aetna", "Cigna"], []),
    # --- insurance: never "yes" to a plan that is not on the list ---
    ("do you take Kaiser", ["Kaiser is not on our list", PHONE], [YES]),
    ("kaiser permanente", ["not on our list", PHONE], [YES]),
    ("medicaid", ["Medicaid is not on our list", PHONE], [YES]),
    ("do you take medicaid", ["Medicaid is not on our list"], [YES]),
    ("Do you accept Medicaid?", ["not on our list"], [YES]),
    ("medicade", ["not on our list"], [YES]),
    ("tricare", ["not on our list"], [YES]),
    ("humana?", ["not on our list"], [YES]),
    ("do you take anthem", ["not on our list"], [YES]),
    ("do you take zorblax health insurance", ["Zorblax is not on our list", PHONE], [YES]),
    ("is ambetter accepted", ["not on our list"], [YES]),
    ("do you accept medicaid and aetna", ["Medicaid is not on our list", "Aetna"], []),
    # --- insurance in general ---
    ("insurance", ["We accept", "Aetna", "Medicare", PHONE], []),
    ("what insurance do you take", ["We accept", "Cigna"], []),
    ("insurence?", ["We accept"], []),
    ("which plans do you accept", ["We accept"], []),
    ("do u take ins", ["We accept"], []),
    # --- greetings, menu, thanks ---
    ("hi", [MENU, PHONE, "Back & Spine Clinic"], []),
    ("Hello!", [MENU], []),
    ("hey there", [MENU], []),
    ("good morning", [MENU], []),
    ("menu", [MENU], []),
    ("", [MENU], []),
    ("thank you!", ["welcome"], []),
    ("thanks", ["welcome"], []),
    ("thx", ["welcome"], []),
    ("ok", ["welcome"], []),
    ("done", ["Great work"], []),
    ("hi what are your hours", ["Office hours"], [MENU]),
    # --- safety first ---
    ("i cant feel my legs", [E911, "emergency room"], [STEPS]),
    ("I lost control of my bladder", [E911], [STEPS]),
    ("i peed myself and my back hurts", [E911], []),
    ("bowel control problems since this morning", [E911], []),
    ("numbness in my groin", [E911], []),
    ("saddle numbness", [E911], []),
    ("chest pain", [E911], []),
    ("my chest hurts when i do the cat camel", [E911], [STEPS]),
    ("sudden weakness in my legs", [E911], []),
    ("my legs gave out", [E911], []),
    ("I fell down the stairs and my back hurts", [E911], []),
    ("i fell", [E911], []),
    ("just got injured at the gym", [E911], []),
    ("my leg went numb", [E911], []),
    ("can't walk", [E911], []),
    # --- pain during or after an exercise ---
    ("it hurts when I do the pelvic tilt", ["stop the Pelvic Tilt", PHONE], [STEPS, YES]),
    ("sharp pain during cat camel", ["stop the Cat and Camel", PHONE], [STEPS]),
    ("my back hurts after the stretches", ["stop that exercise", PHONE], []),
    ("the piriformis stretch hurts", ["stop the Piriformis Stretch", PHONE], [STEPS]),
    ("pain after doing the exercises yesterday", ["stop", PHONE], []),
    # --- two questions in one text ---
    ("address and hours pls", ["44110", "Office hours"], []),
    ("where are you and when are you open", ["44110", "Office hours"], []),
    ("hours and do you take aetna", ["Office hours", YES], []),
    ("do you take cigna? and whats the address", [YES, "44110"], []),
    ("cat camel and your hours", [CAT, "Office hours"], []),
    ("open saturday and where are you", ["closed on Saturday", "44110"], []),
    # --- appointments and Spanish ---
    ("i need to reschedule my appointment", ["appointment", PHONE], []),
    ("can i book an appt", ["appointment", PHONE], []),
    ("hola", ["espanol", PHONE], []),
    ("do you speak spanish", ["Se habla Espanol", PHONE], []),
    # --- unknown: a way forward, never a random exercise ---
    ("asdfgh", [MENU, PHONE], [STEPS]),
    ("what is the meaning of life", [MENU, PHONE], [STEPS]),
    ("\U0001f600", [MENU], [STEPS]),
    ("blorp zzz", [MENU], [STEPS]),
    ("purple elephant", [MENU], [STEPS]),
    ("do you sell gift cards", [PHONE], [STEPS, YES]),
    ("how do i get there", ["44110"], []),
    ("my lower back is killing me", ["lower back", CAT], ["We accept"]),
    ("walk ins?", [PHONE], ["We accept"]),
    ("do you take walk ins", [PHONE], ["We accept", "not on our list"]),
    ("new patient", ["appointment", PHONE], []),
    ("is the office open on thanksgiving", ["holidays", PHONE], ["44110"]),
    ("Hola necesito una cita", ["espanol", PHONE], []),
    ("I have kaiser is that ok", ["Kaiser is not on our list"], [YES]),
    ("Do you accept United Health Care?", [YES, "UnitedHealthcare"], []),
    ("where r u located", ["44110"], []),
    # --- saddle numbness in everyday words; "numb" is never the word "number" ---
    ("numb down there", [E911, "groin or saddle"], [STEPS]),
    ("my crotch feels numb", [E911, "groin or saddle"], []),
    ("numbness between my legs", [E911, "groin or saddle"], []),
    ("my foot is tingling", ["numbness or weakness", PHONE], ["automated text line"]),
    # --- pain while doing an exercise that is not named ---
    ("it hurts to do the stretch", ["stop that exercise", PHONE], [STEPS]),
    ("its painful to do the knee to chest", ["stop the Knee-to-Chest", PHONE], [STEPS]),
    # --- services and payment are not insurance plans ---
    ("do you do massage", ["call us", PHONE], ["not on our list", YES]),
    ("do you take x rays", [MENU, PHONE], ["not on our list", YES]),
    ("do you take visa", [PHONE], ["not on our list", YES]),
    ("do you take zorba health", ["Zorba is not on our list", PHONE], [YES]),
    ("i have zorba insurance", ["Zorba is not on our list", PHONE], [YES]),
    ("obamacare", ["Obamacare is not on our list", PHONE], [YES]),
    # --- shorthand and near-misses of everyday words ---
    ("wen r u opn", ["Mon", "Sat"], [MENU]),
    ("were are you", ["44110"], []),
    ("whats the zip code", ["20147"], []),
    ("my lower back is stiff", [CAT, PRAYER], ["automated text line"]),
    # --- exercises by their number in the list ---
    ("exercise 3", [KNEE, STEPS], []),
    ("number 2", [PRAYER, STEPS], []),
    ("ex 10", [TRUNK, STEPS], []),
    ("11", [MENU], [STEPS]),
    # --- conditions the exercises are not named for: sympathy and the phone ---
    ("pinched nerve", ["Sorry you are hurting", PHONE], [STEPS]),
    ("herniated disc", ["Sorry you are hurting", PHONE], [STEPS]),
    # --- who is this, and the daily reminder ---
    ("is this a bot", ["text line", PHONE], []),
    ("who am i texting", ["text line", PHONE], []),
    ("change my reminder time", ["reminder", "call us", PHONE, "STOP"], []),
    ("when is my next reminder", ["time you chose", PHONE], []),
    # --- Medicaid and Medicare Advantage plans under an accepted brand are never "yes" ---
    ("aetna better health", ["Aetna Better Health is not on our list", PHONE], [YES]),
    ("i have aetna medicare", ["not on our list", PHONE], [YES]),
    ("medicare advantage", ["Medicare Advantage is not on our list", PHONE], [YES]),
    ("do you take united healthcare community plan", ["not on our list", PHONE], [YES]),
    ("do you take uhc", [YES, "UnitedHealthcare"], ["not on our list"]),
    ("i got rear ended", ["Auto injury"], []),
    # --- soreness after the exercises; questions about them ---
    ("im sore after exercises is that normal", ["stop that exercise", PHONE], [STEPS]),
    ("my back hurts after stretching", ["stop that exercise", PHONE], [STEPS]),
    ("what exercises help when i have pain", [CAT], ["stop that exercise"]),
    ("how many reps", ["how many times", "text its name"], [STEPS]),
    ("how long do i hold the stretch", ["how long to hold"], [STEPS]),
    ("how often should i do these", ["how many times", PHONE], [MENU]),
    # --- red flags in other words: falls, fractures, breathing, fainting, incontinence ---
    ("severe back pain after fall", [E911, "fall or injury"], [STEPS, CAT]),
    ("slipped on ice yesterday and now my back hurts", [E911], [CAT, "open now"]),
    ("fell off a ladder this morning", [E911], []),
    ("i think i broke my tailbone", [E911], []),
    ("difficulty breathing", [E911, "trouble breathing"], []),
    ("its hard to breathe", [E911], []),
    ("i passed out after the stretches", [E911, "Fainting"], []),
    ("numbness in my inner thighs", [E911, "groin or saddle"], [HAM]),
    ("peeing myself", [E911, "bladder"], []),
    ("i can barely walk", [E911], []),
    ("i pooped my pants", [E911, "bladder or bowel"], ["We accept"]),
    ("i wet the bed last night", [E911], []),
    ("i have no feeling in my butt", [E911, "groin or saddle"], []),
    ("foot drop", [E911], []),
    ("my foot is dragging", [E911], []),
    ("i keep falling", [E911], []),
    ("my legs keep giving out", [E911], []),
    ("sudden severe back pain", [E911, "Severe pain"], []),
    ("worst back pain of my life", [E911], []),
    ("my back pain is 10/10", [E911], []),
    ("it hurts to breathe", [E911], []),
    ("i was in a wreck this morning", [E911], [MENU]),
    # --- ... and what is not one ---
    ("i did 10 of 10 reps of the pelvic tilt", [PELVIC], ["emergency room"]),
    ("fell asleep during the stretch", [], ["emergency room"]),
    ("i broke my hip in 2019", [], ["emergency room"]),
    ("i was injured in 2015", [], ["emergency room"]),
    ("i got injured 2 years ago", [], ["emergency room"]),
    ("i have a slipped disc", ["Sorry you are hurting"], ["emergency room"]),
    ("no chest pain just back pain", [CAT], ["emergency room"]),
    ("no fever but my back hurts", [CAT], ["emergency room"]),
    ("i have no chest pain but i cant feel my legs", [E911], []),
    ("i have chest pain, no relief", [E911, "Chest pain"], []),
    ("no tengo fiebre pero me duele la espalda", ["Lo sentimos"], ["Llame al 911 o vaya"]),
    ("i take deep breaths during the cat camel", [CAT, STEPS], ["emergency room"]),
    # --- pain with exercises the clinic did not give ---
    ("squats hurt my back", ["stop that exercise", PHONE], [CAT]),
    ("doing lunges hurts", ["stop that exercise", PHONE], []),
    ("it hurts to do planks", ["stop that exercise", PHONE], [YES, "We accept"]),
    ("should i feel pain when stretching", ["stop that exercise", PHONE], [STEPS]),
    ("should i stop the stretch if it hurts", ["stop that exercise", PHONE], [STEPS]),
    ("i feel dizzy after the stretch", ["stop that exercise", PHONE], [STEPS]),
    ("the cat camel doesnt hurt anymore", [CAT], ["stop the"]),
    # --- "now" and "today" in a sentence about pain are not "open now?" ---
    ("my back hurts now", [CAT], ["open now", "Office hours"]),
    ("my back hurts today can i come in", ["appointment", PHONE], ["Office hours"]),
    ("can i come in at 12:45", ["appointment", PHONE], [MENU]),
    ("\U0001f44d", ["welcome"], [MENU]),
    # --- a plan type or brand beside an accepted name is one plan, never "yes" ---
    ("aetna hmo", ["Aetna HMO is not on our list", PHONE], [YES]),
    ("cigna hmo", ["not on our list", PHONE], [YES]),
    ("do you take anthem blue cross", ["Anthem Blue Cross is not on our list", PHONE], [YES]),
    ("do you take hmo plans", ["HMO is not on our list", PHONE], [YES]),
    ("aetna ppo", [YES, "Aetna"], ["not on our list"]),
    ("do you take medicaid or medicare", [YES + " Medicare", "Medicaid is not"], []),
    # --- payment, and conditions to ask the provider about first ---
    ("do you take credit cards", ["prices", PHONE], [YES, "not on our list"]),
    ("can i pay with my hsa card", ["prices", PHONE], [YES]),
    ("what should i do for spinal stenosis", ["ask your provider", PHONE], [STEPS, CAT]),
    ("exercises for degenerative disc disease", ["ask your provider"], ["Our home exercises"]),
    ("ab exercise", [ABS], ["Our home exercises"]),
    # --- the front desk's questions: a person answers them ---
    ("do i need a referral", ["call us", PHONE], [MENU]),
    ("are you a chiropractor", ["call us", PHONE], [MENU]),
    ("do you do physical therapy", ["call us", PHONE], [MENU]),
    ("running late", ["call us", PHONE], [MENU]),
    ("is the doctor available today", ["appointment", PHONE], ["Office hours"]),
    ("como hago el gato camello", [CAT, STEPS], []),
    ("i forgot the exercises", [CAT, TRUNK], [MENU]),
    # --- everyday idioms are not red flags ---
    ("i fell behind on my exercises", [], ["emergency room"]),
    ("i slipped up and missed a day", [], ["emergency room"]),
    ("i tripped over my words lol", [], ["emergency room"]),
    ("i cant feel any difference yet", [], ["emergency room"]),
    ("i cant move on from this pain lol", ["Sorry you are hurting"], ["emergency room"]),
    ("i can barely move in the morning until i stretch", [], ["emergency room"]),
    ("i can hardly stand how much this hurts", ["Sorry you are hurting"], ["prices"]),
    # --- ... and red flags in other words ---
    ("i was hit by a car", [E911], []),
    ("someone rear ended me today", [E911], [YES]),
    ("my knees gave out", [E911], []),
    ("i feel faint", [E911, "Fainting"], []),
    ("i cant feel my left leg", [E911], []),
    ("i tripped over the dog", [E911], []),
    ("i want to die", ["988", "in danger, call 911"], [CAT]),
    ("im better off dead", ["988"], []),
    # Thoughts of self-harm in other words (held-aside set three): the crisis line first,
    # and wanting to hurt oneself is no accident's answer.
    ("everyone would be better off w/o me", ["988", "in danger, call 911"], ["Sorry you are"]),
    ("gonna take the whole bottle of my pills tonight", ["988"], ["Office hours", "Today"]),
    ("thinking about taking all my pain pills", ["988"], []),
    ("i want to hurt myself", ["988"], ["A fall or injury"]),
    ("i just want to end it all", ["988"], []),
    ("estarian mejor sin mi", ["988", "llame al 911"], []),
    ("me voy a tomar todas las pastillas", ["988"], []),
    ("no quiero lastimarme la espalda con los ejercicios", [], ["988"]),
    # A fall the patient says left them unhurt is no emergency; one with a "but" still is.
    ("tripped over my dog, totally fine lol", [], ["emergency room"]),
    ("slipped on the ice, totally fine but my back hurts a lot", [E911], []),
    ("fell off my bike, im not hurt but i cant feel my legs", [E911], []),
    ("quiero morir", ["988", "llame al 911"], []),
    ("tengo ciatica", ["Lo sentimos", PHONE], [MENU]),
    ("cuanto cuesta la consulta", ["precios", PHONE], []),
    ("me desmaye", ["Llame al 911"], []),
    ("united health care community", ["not on our list", PHONE], [YES]),
    ("i have tricare prime", ["Tricare is not on our list"], [YES, "prices"]),
    ("i dont have insurance", ["prices", PHONE], [YES, "We accept:"]),
    ("pain between shoulder blades", [BIRD], ["For your shoulder"]),
    ("i cant touch my toes", [HAM], ["emergency room", MENU]),
    ("slouching", [BIRD, PELVIC], [MENU]),
    # --- red flags through a typo; everyday words one slip away are not red flags ---
    ("difficulty beathing", [E911], []),
    ("its hard to brethe", [E911], []),
    ("nmbness in my inner thighs", [E911, "groin or saddle"], []),
    ("I was just in a car accdent", [E911], [YES]),
    ("sudden weakess in my legs", [E911], []),
    ("i use a ladder at work and my back hurts", [CAT], ["emergency room"]),
    ("i put a towel under my back for the pelvic tilt", [PELVIC], ["emergency room"]),
    ("i painted my house and my back hurts", [CAT], ["emergency room"]),
    ("i skipped my exercises yesterday", [], ["emergency room"]),
    ("i am insured by aetna", [YES], ["emergency room"]),
    ("i never had back pain before", [CAT], ["emergency room"]),
    ("i take deep breaths", [], ["not on our list", "emergency room"]),
    ("i carry two bowls of soup and my back hurts", [CAT], ["emergency room"]),
    ("my execises hurt", ["stop that exercise", PHONE], [STEPS]),
    ("i feel dizzy after the streth", ["stop that exercise", PHONE], [STEPS]),
    # --- a greeting or thanks beside the question never hides it ---
    ("hi, i have a herniated disc", ["Sorry you are hurting"], [MENU]),
    ("pinched nerve thanks", ["Sorry you are hurting"], ["welcome"]),
    ("is this a bot thanks", [MENU], ["did not understand"]),
    ("number 2 thanks", [PRAYER, STEPS], ["automated"]),
    ("ex 10 pls", [TRUNK, STEPS], []),
    ("done thanks", ["Great work"], []),
    ("numbness betwen my legs", [E911, "groin or saddle"], []),
    # --- pictures, billing, the patient's own details ---
    ("can you send me a video", ["in words", PHONE], [MENU]),
    ("send pics", ["in words", PHONE], ["prices"]),
    ("is there a video of the bird dog", [BIRD, STEPS, "in words"], []),
    ("who can i talk to about billing", ["call us", PHONE], ["We accept"]),
    ("what is my balance", ["call us", PHONE], [MENU]),
    ("can i get a copy of my receipt", ["call us", PHONE], ["We accept"]),
    ("i need to update my address", ["call us", PHONE], ["44110"]),
    ("what floor are you on", ["44110"], []),
    ("what if i cant get on the floor", [], ["44110", "emergency room"]),
    ("my knees hurt when kneeling for the cat camel", ["stop the Cat and Camel", PHONE], [QL]),
    # --- answers to the daily reminder, and "why am I getting this?" ---
    ("skip today", ["reminder", PHONE], ["Today: open"]),
    ("not today", ["reminder", PHONE], ["Today: open"]),
    ("im on vacation", ["pause", PHONE], [MENU]),
    ("why did i get this text", ["STOP", PHONE], [MENU]),
    ("i never signed up", ["STOP", PHONE], ["Sorry you are hurting"]),
    ("who gave you my number", ["STOP", PHONE], []),
    ("how do i sign up for reminders", ["front desk signs patients up", PHONE], ["time you chose"]),
    ("i want daily reminders", ["front desk signs patients up", PHONE], []),
    # --- longer texts, the way people write them ---
    (
        "Hi, I was seen last week for my lower back and the doctor gave me some stretches. Can "
        "you remind me how to do the knee to chest one?",
        [KNEE, STEPS],
        ["reminder", "try:"],
    ),
    (
        "Good afternoon. I'd like to know if you accept Cigna and what your hours are on "
        "Thursday. Thank you!",
        [YES + " Cigna", "Thursday: open 2pm-7pm"],
        ["afternoon"],
    ),
    (
        "I have been having pain in my lower back for 2 weeks, it gets worse when I sit. What "
        "exercises can I do?",
        [CAT, PRAYER],
        ["stop that exercise"],
    ),
    ("i did the stretches and now it hurts what can i do", ["stop that exercise", PHONE], []),
    ("Is the pelvic tilt safe if I'm pregnant?", ["ask your provider", PHONE], [STEPS]),
    # --- nerve signs: the sciatica exercises, and 911 if sudden ---
    ("tingling down my leg", [PIRI, "came on suddenly, call 911"], ["emergency room"]),
    ("pins and needles in my leg", [PIRI, "came on suddenly"], ["emergency room"]),
    ("my foot tingles", ["foot", PHONE, "came on suddenly"], [MENU]),
    ("what can you do", [MENU], ["did not understand"]),
    # --- good news ---
    ("it feels good", ["Glad to hear it"], [MENU]),
    ("my back feels better after the stretches", ["Glad to hear it"], [CAT]),
    ("the exercises are helping", ["Glad to hear it"], [CAT]),
    ("i feel better but my back still hurts in the morning", [CAT], ["Glad to hear it"]),
    ("what helps my back feel better", [CAT], ["Glad to hear it"]),
    ("where should i feel the stretch", [], ["44110"]),
    # --- medical questions the text line does not answer: ask the provider ---
    ("should i use heat or ice", ["ask your provider", PHONE], [MENU]),
    ("can i take ibuprofen", ["ask your provider", PHONE], [MENU]),
    ("is it ok to walk", ["ask your provider", PHONE], [MENU]),
    ("is swimming good for back pain", ["ask your provider", PHONE], [CAT]),
    ("im 78 and cant get down on the floor, what can i do", ["ask your provider"], [MENU]),
    ("i lost weight without trying and my back hurts", ["ask your provider"], [CAT]),
    ("Do you all accept Medicare as primary insurance", [YES + " Medicare"], ["Our home"]),
    ("AARP", ["AARP is not on our list", PHONE], [YES]),
    # --- Medicaid, Medicare Advantage and dual plans under an accepted name: never "yes" ---
    ("carefirst community health plan", ["not on our list", PHONE], [YES]),
    ("unitedhealthcare dual complete", ["not on our list", PHONE], [YES]),
    ("medicare part c", ["Medicare Part C is not on our list"], [YES]),
    ("medicare ppo", ["Medicare PPO is not on our list"], [YES]),
    ("aetna medicare advantage ppo", ["not on our list", PHONE], [YES]),
    ("cigna for seniors", ["Cigna for Seniors is not on our list"], [YES]),
    ("i have aetna through my job", [YES + " Aetna"], ["not on our list"]),
    ("aceptan aetna hmo", ["Aetna HMO no esta en nuestra lista", PHONE], ["Si, aceptamos"]),
    ("aceptan anthem blue cross", ["no esta en nuestra lista"], ["Si, aceptamos"]),
    ("aceptan medicaid y medicare", ["Si, aceptamos Medicare", "Medicaid no esta"], []),
    ("Can you text me the stretches again", [CAT, TRUNK], [MENU]),
    ("i was in a car accident", [YES, "Auto injury", "If you were hurt just now, call 911"], []),
    ("car accident 2 years ago do you take it", [YES, "Auto injury"], ["911"]),
    ("what do you do for sciatica", [PIRI], ["did not understand"]),
    # --- a clock time asked about ---
    ("are you open monday at 1pm", ["Monday", "Not open at 1pm"], ["Yes, open"]),
    ("are you open at 6pm on thursday", ["Thursday", "Yes, open at 6pm"], []),
    ("can i come friday at 2", ["8am-1pm", "Not open at 2pm"], []),
    ("open wednesday at noon?", ["Yes, open at 12pm"], []),
    ("are you open at 11am", ["Today: open 8am-1pm", "Yes, open at 11am"], []),
    ("whats open at 12 45 on monday", ["Not open at 12:45pm"], []),
    # --- phone typing ---
    ("wat time u open 2day", ["Today", "8am-1pm"], ["Mon"]),
    ("were r u", ["44110"], [MENU]),
    ("exersizes", [CAT, TRUNK], [MENU]),
    ("hey is this the back clinic", [MENU], [CAT]),
    ("is this back and spine clinic", [MENU], [CAT]),
    # --- everyday words that are not keywords or names ---
    ("how do i get there from route 7", ["44110"], ["Our home exercises"]),
    ("i have cancer and back pain", ["ask your provider", PHONE], [STEPS, "appointment"]),
    ("my shoulder is killing me", ["shoulder", PHONE], [MENU]),
    ("sharp pain shooting down my leg", [PHONE], ["emergency room"]),
    ("how long do i hold the cat camel", [CAT, STEPS], []),
    ("how long is the appointment", ["appointment", PHONE], ["how long to hold"]),
    ("can i do these if im pregnant", ["ask your provider", PHONE], [STEPS]),
    # --- where exactly ---
    ("what store are you next to", ["Giant"], []),
    ("are you near giant", ["Giant"], []),
    ("open late?", ["Tue 2pm-7pm"], ["44110"]),
    # --- in Spanish: red flags first, then hours, address and insurance in Spanish ---
    ("no puedo sentir las piernas", ["Llame al 911", "emergencias"], [STEPS]),
    ("tengo dolor de pecho", ["Llame al 911"], []),
    ("perdi el control de la vejiga", ["Llame al 911"], []),
    ("Me caí en la casa", ["Llame al 911"], []),
    ("cuales son sus horarios", ["Horario", "Lun 10am-12:30pm y 2pm-5pm", PHONE], ["Office"]),
    ("estan abiertos el sabado?", ["El sabado cerramos", "Vie 8am-1pm"], []),
    ("¿Dónde están ubicados?", ["44110", "entre Giant y VA ABC"], []),
    ("aceptan medicaid", ["Medicaid no esta en nuestra lista", PHONE], ["Si, aceptamos", YES]),
    ("aceptan aetna?", ["Si, aceptamos Aetna"], ["no esta"]),
    ("tienen seguro", ["Aceptamos", "Aetna"], []),
    ("gracias", ["De nada"], []),
    ("ejercicios para la espalda", ["Gato y camello", PHONE], []),  # the Spanish name
    ("hola, do you take aetna?", [YES, "Aetna"], []),
    # --- red flags, not words that look like them ---
    ("knee to chest hurts", ["stop the Knee-to-Chest", PHONE], ["emergency room"]),
    ("the knee to chest makes my chest hurt", [E911, "Chest pain"], []),
    ("i cant walk far without pain", ["Sorry you are hurting", PHONE], ["emergency room"]),
    ("i cant lift my leg high enough for the hamstring stretch", [HAM], ["emergency room"]),
    ("i fell asleep doing the stretches", [], ["emergency room"]),
    ("i slipped on ice last year", [MENU], ["emergency room"]),
    ("i slipped on ice", [E911, "fall or injury"], []),
    ("i hurt myself doing the cat camel", ["stop the Cat and Camel", PHONE], ["emergency room"]),
    ("i hurt myself", [E911], []),
    ("my bladder is fine", [], ["emergency room"]),
    ("no control of my bladder", [E911, "bladder"], []),
    # --- paying: prices are for the front desk ---
    ("i have no insurance", ["paying without insurance", PHONE], ["We accept"]),
    ("self pay?", ["prices", PHONE], []),
    ("how much does a visit cost", ["prices", PHONE], []),
    ("do you take cash", ["prices", PHONE], ["not on our list"]),
    ("cigna healthspring", ["not on our list", PHONE], [YES]),
    # --- done, in whole sentences ---
    ("I am done with my exercises for today!", ["Great work"], [STEPS, "Office hours"]),
    ("did them all", ["Great work"], [STEPS]),
    ("are you done today", [], ["Great work"]),
    # --- "where" that is not a question of place; words that are not plans ---
    ("what was the stretch where you lie on your back", [], ["44110"]),
    ("where do I send my medical records", ["44110"], ["not on our list"]),
    ("I want to cancel", ["appointment", PHONE], []),
    # --- their own routine (the webhook answers from the record; here, the whole list) ---
    ("which exercises am i supposed to do", [CAT, TRUNK], []),
    ("my exercises hurt", ["stop that exercise", PHONE], [STEPS]),
    # --- body parts the exercises are not for: the phone, not a list to try ---
    ("stretches for neck", ["For your neck", PHONE], [CAT]),
    ("my shoulder hurts", ["For your shoulder", PHONE], [CAT]),
    ("my knee hurts", ["For your knee", PHONE], [KNEE]),
    ("stretches for my knees and lower back", [CAT], []),
    ("exercises for pregnancy back pain", ["ask your provider", PHONE], [CAT]),
    ("i have arthritis", ["Sorry you are hurting", PHONE], []),
    ("my feet go numb", [E911], []),
    # --- more Spanish ---
    ("me duele la espalda", ["Lo sentimos", PHONE, "911"], []),
    ("tengo fiebre", ["Se habla Espanol", PHONE], ["Llame al 911"]),
    ("tengo fiebre y dolor de espalda", ["Llame al 911"], []),
    ("tuve un accidente de carro hace un ano", [PHONE], ["Llame al 911"]),
    ("como hago el pelvic tilt", [PELVIC, STEPS], []),
    # --- an accident or injury that just happened: 911 first; an old one: the coverage ---
    ("I was just in a car accident", [E911, "fall or injury"], [YES]),
    ("i got hurt at work today", [E911], []),
    ("i got hurt doing the bird dog today", ["stop the", PHONE], ["emergency room"]),
    ("i was in a car accident last year, do you take auto insurance", [YES, "Auto"], ["911"]),
    ("how long is the drive", [MENU, PHONE], ["how long to hold"]),
    ("how many times a day", ["how many times to do it"], []),
]


@pytest.fixture(scope="module")
def replier():
    return Replier(load_content(), NY)


def test_there_are_enough_phrasings():
    assert len(CASES) >= 150
    assert len({text for text, _, _ in CASES}) == len(CASES), "a phrasing is listed twice"


def fold(text: str) -> str:
    """Lower case, without accents: Spanish is written with or without them (a setting),
    and what an answer must say is the same either way ("Espanol" is "Español")."""
    decomposed = unicodedata.normalize("NFD", text.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


@pytest.mark.parametrize(("text", "must", "must_not"), CASES, ids=[c[0][:40] for c in CASES])
def test_phrasing(replier, text, must, must_not):
    check_answer(replier, text, must, must_not)


def check_answer(replier, text: str, must, must_not) -> None:
    """The answer says everything in ``must`` and nothing in ``must_not`` (without regard to
    case or accents), in plain SMS text."""
    body = with_the_rest(replier, replier.reply(text, FRIDAY_10AM).body)
    for expected in must:
        assert fold(expected) in fold(body), f"{text!r} -> {body!r} lacks {expected!r}"
    for unexpected in must_not:
        assert fold(unexpected) not in fold(body), f"{text!r} -> {body!r} has {unexpected!r}"
    assert is_gsm7(body), f"{text!r} -> a reply that is not plain GSM-7"


def with_the_rest(replier, body: str) -> str:
    """The answer and the parts that follow it, as a patient who texts MORE after each
    part gets them (an exercise's steps come in parts)."""
    said = [body]
    while following := replier.continuation(said[-1]):
        said.append(following[0])
    return "\n".join(said)


@pytest.mark.parametrize(("text", "must", "must_not"), CASES, ids=[c[0][:40] for c in CASES])
def test_emergency_always_comes_first(replier, text, must, must_not):
    body = replier.reply(text, FRIDAY_10AM).body
    if E911 in must:
        assert body.lower().startswith("please call 911")
    if "Llame al 911" in must:
        assert body.startswith("Llame al 911")
    assert count_segments(body).segments <= 10
