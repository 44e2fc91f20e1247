"""Spanish as patients text it: with and without accents, typos, phone shorthand, mixed with
English. Each row: the text, what the answer must contain, what it must not. The English
table (tests/test_phrasings.py) is beside it; both go through the one reader and writer.

The clock is a Friday at 10 AM in the clinic (open 8 AM to 1 PM, closed Saturday and
Sunday)."""

from __future__ import annotations

import pytest

from tests.test_phrasings import FRIDAY_10AM, check_answer

PHONE = "703-723-6800"
WEEK = "Horario:\nLun 10am-12:30pm y 2pm-5pm"
OPEN_NOW = "Si, estamos abiertos ahora hasta las 1pm"
TODAY = "Hoy: abierto 8am-1pm"
SATURDAY = "El sabado cerramos"
WHERE = "44110 Ashburn Shopping Plaza"
PLANS = "Aceptamos: PPO/POS plans"
NOT_LISTED = "no esta en nuestra lista de planes aceptados"
STEPS = "\n1. "
LIST = "Nuestros ejercicios en casa:\n1 Gato y camello\n"
SORRY = "Lo sentimos"
E911 = "Llame al 911 o vaya a la sala de emergencias"
APPOINTMENT = "Para hacer, cambiar o cancelar una cita"
COST = "Para precios y pagos sin seguro"
THANKS = "De nada"
MENU = "Escriba HORARIO, DIRECCION o SEGURO"
PERSON = "Para hablar con una persona"
DOSAGE = "Los pasos de cada ejercicio dicen"
MEDIA = "Esta linea envia los pasos por escrito"
ENROLL = "La recepcion inscribe"
HOLIDAY = "dias festivos"
PROVIDER = "Pregunte primero a su proveedor"
DONE = "Buen trabajo hoy"
BETTER = "Que bueno"
STOP_IT = "deje de hacer"
UNKNOWN = "no entendi su mensaje"
ENGLISH = "Office hours:"

CASES = [
    # --- hours ---------------------------------------------------------------------------
    ("a que hora abren", [WEEK, PHONE], []),
    ("¿A qué hora abren?", [WEEK], []),
    ("a que ora abren", [WEEK], []),
    ("ke ora abren", [WEEK], []),
    ("q horas tienen", [WEEK], []),
    ("horario", [WEEK], [ENGLISH]),
    ("horarios porfa", [WEEK], [ENGLISH]),
    ("Horario por favor", [WEEK], [ENGLISH]),
    ("cual es su horario", [WEEK], []),
    # A clock time in Spanish (held-aside set three): "a las 3 de la tarde", "a las 11".
    ("abren el viernes a las 3 de la tarde?", ["No abrimos a las 3pm"], ["abierto a las"]),
    ("estan abiertos el martes a las 11?", ["No abrimos a las 11am"], []),
    ("abren el lunes a las 10 de la mañana", ["abierto a las 10am"], ["No abrimos a las"]),
    ("como hago el 3 de la lista", [], ["No abrimos", "abierto a las"]),
    ("cuál es el horario de la clínica?", [WEEK], []),
    ("que horario tienen", [WEEK], []),
    ("estan abiertos ahora?", [OPEN_NOW], []),
    ("¿están abiertos ahorita?", [OPEN_NOW], []),
    ("estan abiertos hoy", [TODAY], []),
    ("a qué hora cierran hoy", [TODAY], []),
    ("hasta que hora estan abiertos hoy", [TODAY], []),
    ("abren hoy?", [TODAY], []),
    ("abren el sabado?", [SATURDAY, WEEK], []),
    ("abren el sábado", [SATURDAY], []),
    ("atienden los sabados", [SATURDAY], []),
    ("abren los domingos", ["El domingo cerramos"], []),
    ("están cerrados el fin de semana?", [SATURDAY, "El domingo cerramos"], []),
    ("abren el fin de semana", [SATURDAY], []),
    ("cual es el horario del lunes", ["El lunes: abierto 10am-12:30pm y 2pm-5pm"], []),
    ("horario del martes", ["El martes: abierto 2pm-7pm"], []),
    ("abren el miércoles?", ["El miércoles: abierto"], []),
    ("abren el miercoles", ["El miércoles: abierto"], []),
    ("estan abiertos el jueves por la tarde", ["El jueves: abierto 2pm-7pm", "por la tarde"], []),
    ("abren el viernes en la mañana", ["El viernes: abierto 8am-1pm", "por la mañana"], []),
    ("abren temprano el viernes", ["El viernes: abierto 8am-1pm"], []),
    ("horario de mañana", ["Cerramos mañana", WEEK], []),
    ("a que hora abren mañana", ["Cerramos mañana"], []),
    ("abren manana?", ["Cerramos mañana"], []),
    ("hours por favor", [WEEK], [ENGLISH]),
    ("horario y direccion", [WEEK, WHERE], []),
    ("abren en navidad", [HOLIDAY], []),
    ("estan abiertos el dia de accion de gracias", [HOLIDAY], []),
    ("abren en dias feriados?", [HOLIDAY], []),
    ("horaio", [WEEK], []),
    # --- where --------------------------------------------------------------------------
    ("donde estan", [WHERE, PHONE], []),
    ("dónde están ubicados?", [WHERE], []),
    ("dnd estan", [WHERE], []),
    ("dnd quedan", [WHERE], []),
    ("cual es la direccion", [WHERE], []),
    ("cuál es la dirección?", [WHERE], []),
    ("direccion porfa", [WHERE], [ENGLISH]),
    ("direcion", [WHERE], []),
    ("como llego a la clinica", [WHERE], ["We are in"]),
    ("cómo llegar?", [WHERE], ["We are in"]),
    ("donde queda la clinica", [WHERE], []),
    ("tienen estacionamiento", [WHERE], []),
    ("donde me estaciono", [WHERE], []),
    ("donde estacionarme", [WHERE], []),
    ("en que plaza estan", [WHERE, "entre Giant y VA ABC"], []),
    ("direccion y seguro", [WHERE, PLANS], []),
    # --- insurance ----------------------------------------------------------------------
    ("aceptan aetna", ["Si, aceptamos Aetna", PHONE], []),
    ("¿Aceptan Aetna?", ["Si, aceptamos Aetna"], []),
    ("aseptan aetna", ["Si, aceptamos Aetna"], ["Yes, we accept"]),
    ("tienen cigna?", ["Si, aceptamos Cigna"], []),
    ("aceptan medicare", ["Si, aceptamos Medicare"], []),
    ("aceptan blue cross", ["Si, aceptamos BlueCross BlueShield"], []),
    ("trabajan con blue cross", ["Si, aceptamos BlueCross BlueShield"], []),
    ("aceptan bcbs", ["Si, aceptamos BlueCross BlueShield"], []),
    ("aceptan united healthcare", ["Si, aceptamos UnitedHealthcare"], []),
    ("aceptan uhc", ["Si, aceptamos UnitedHealthcare"], []),
    ("aceptan ppo", ["Si, aceptamos PPO/POS plans"], []),
    ("aceptan carefirst", ["Si, aceptamos CareFirst"], []),
    ("aceptan medicaid", ["Medicaid", NOT_LISTED, PLANS], ["Si, aceptamos"]),
    ("aceptan medicaid?", [NOT_LISTED], ["Si, aceptamos"]),
    ("aceptan medicade", [NOT_LISTED], ["Si, aceptamos"]),
    ("aceptan kaiser", ["Kaiser", NOT_LISTED], ["Si, aceptamos"]),
    ("tienen tricare", [NOT_LISTED], ["Si, aceptamos"]),
    ("aceptan humana", [NOT_LISTED], ["Si, aceptamos"]),
    ("aceptan aetna better health", [NOT_LISTED], ["Si, aceptamos"]),
    ("aceptan aetna hmo", [NOT_LISTED], ["Si, aceptamos"]),
    ("aceptan mi seguro", [PLANS, PHONE], []),
    ("que seguros aceptan", [PLANS], []),
    ("qué seguros aceptan?", [PLANS], []),
    ("que planes de seguro aceptan", [PLANS], []),
    ("seguro medico", [PLANS], []),
    ("aceptan aseguranza", [PLANS], []),
    ("cuanto cuesta la consulta", [COST, PHONE], []),
    ("cuanto cuesta sin seguro", [COST], ["For prices"]),
    ("no tengo seguro", [COST], []),
    ("cuánto cobran", [COST], []),
    ("precio de la consulta", [COST], []),
    # --- exercises ----------------------------------------------------------------------
    ("como hago el gato y camello", ["Gato y camello (Cat and Camel)", STEPS], []),
    ("cómo se hace el gato camello?", ["Gato y camello", "Mantenga 5 segundos"], []),
    ("gato y camello", ["Gato y camello", STEPS], []),
    ("como hago el cat camel", ["Gato y camello", STEPS], ["Hold for"]),
    ("pasos del cat camel porfa", ["Gato y camello", STEPS], ["Hold for"]),
    ("como se hace la inclinacion pelvica", ["Inclinacion pélvica (Pelvic Tilt)", STEPS], []),
    ("inclinación pélvica", ["Inclinacion pélvica", STEPS], []),
    ("como hago el pelvic tilt", ["Inclinacion pélvica", STEPS], []),
    ("rodilla al pecho", ["Rodilla al pecho (Knee-to-Chest Raise)", STEPS], []),
    ("como hago las rodillas al pecho", ["Rodilla al pecho", STEPS], []),
    ("pasos del perro de caza", ["Perro de caza", STEPS], []),
    ("perro de caza", ["Perro de caza", "Repita de 5 a 10 veces"], []),
    ("estiramiento del piriforme", ["Estiramiento del piriforme", STEPS], []),
    ("como hago el piriforme", ["Estiramiento del piriforme", STEPS], []),
    ("isquiotibiales acostado", ["Isquiotibiales, acostado", STEPS], []),
    ("estiramiento de oracion", ["Estiramiento de oracion", STEPS], []),
    ("postura del niño", ["Estiramiento de oracion", STEPS], []),
    ("cuadrado lumbar", ["Cuadrado lumbar, de rodillas", STEPS], []),
    ("abdominal isometrico", ["Abdominal isométrico", STEPS], []),
    ("estiramiento lateral", ["Tronco y pierna de lado", STEPS], []),
    ("el ejercicio 3", ["Rodilla al pecho", STEPS], []),
    ("ejercicio numero 5", ["Isquiotibiales, acostado", STEPS], []),
    ("que ejercicios tienen", [LIST, PHONE], []),
    ("qué ejercicios hay?", [LIST], []),
    ("lista de ejercicios", [LIST], []),
    ("ejercicios", [LIST], []),
    ("ejersisios", [LIST], []),
    ("mis ejercicios por favor", [LIST], []),
    ("ejercicios para la espalda baja", ["Para la parte baja de la espalda", "Gato y camello"], []),
    ("estiramientos para la cadera", ["Estiramiento"], []),
    ("cuantas veces hago los ejercicios", [DOSAGE, PHONE], []),
    ("cuánto tiempo sostengo el estiramiento?", [DOSAGE], []),
    ("cuantas repeticiones", [DOSAGE], []),
    ("tienen videos de los ejercicios", [MEDIA], []),
    ("me pueden mandar fotos del ejercicio", [MEDIA], []),
    # --- pain, safety -------------------------------------------------------------------
    ("me duele la espalda", [SORRY, PHONE, "llame al 911"], []),
    ("tengo dolor de espalda", [SORRY], []),
    ("me duele la cadera", ["Para la cadera y los costados, pruebe:", "Deje cualquier"], []),
    ("ejercicios para la espalda baja y la postura",
     ["la parte baja de la espalda y una espalda", "Gato y camello"], []),
    ("estiramientos para los gluteos", ["la ciática y los glúteos", "Estiramiento del piriforme"],
     ["For "]),
    ("algo para la rigidez", ["calentar y la rigidez"], []),
    ("lower back exercises en español por favor", ["la parte baja de la espalda"], ["For "]),
    ("me duele mucho el cuello", [SORRY], []),
    ("tengo ciatica", [SORRY], []),
    ("me duele cuando hago el gato y camello", [STOP_IT, "Gato y camello", PHONE], []),
    ("me duele cuando hago el pelvic tilt", [STOP_IT, "Inclinacion pélvica"], []),
    ("me duele la espalda despues de los ejercicios", [STOP_IT], []),
    ("dolor de pecho", [E911, "El dolor de pecho"], []),
    ("tengo dolor en el pecho", [E911], []),
    ("no puedo respirar", [E911], []),
    ("no puedo mover las piernas", [E911, "debilidad"], []),
    ("no siento las piernas", [E911], []),
    ("me cai y me duele la espalda", [E911, "caida"], []),
    ("me caí en la ducha", [E911], []),
    ("tengo fiebre y dolor de espalda", [E911, "fiebre"], []),
    ("no puedo controlar la vejiga", [E911], []),
    ("no puedo aguantar la orina", [E911], []),
    ("siento adormecida la ingle", [E911], []),
    ("me desmaye", [E911, "desmayo"], []),
    ("quiero morir", ["988", "911"], []),
    ("no tengo fiebre pero me duele la espalda", [SORRY], [E911]),
    ("chest pain, ayuda", ["911"], []),
    # --- the clinic, people, appointments -------------------------------------------------
    ("quiero hacer una cita", [APPOINTMENT, PHONE], []),
    ("necesito cambiar mi cita", [APPOINTMENT], []),
    ("puedo cancelar mi cita?", [APPOINTMENT], []),
    ("necesito una cita para mañana", [APPOINTMENT], []),
    ("necesito hablar con alguien", [PERSON, PHONE], []),
    ("puedo hablar con una persona", [PERSON], []),
    ("llamenme por favor", [PERSON], ["This is the clinic"]),
    ("cual es su telefono", [PERSON], []),
    ("numero de telefono", [PERSON], []),
    ("como me inscribo a los recordatorios", [ENROLL], []),
    ("es seguro hacer ejercicio embarazada", [PROVIDER], ["Please ask"]),
    ("puedo tomar ibuprofeno", [PROVIDER], []),
    ("uso hielo o calor", [PROVIDER], []),
    ("hablan español?", ["Se habla Español", PHONE], []),
    ("¿Hablan español?", ["Se habla Español"], []),
    # --- small talk, done -----------------------------------------------------------------
    ("gracias", [THANKS], []),
    ("muchas gracias!", [THANKS], []),
    ("hola", ["Se habla Español", MENU, PHONE], []),
    ("Hola buenos días", [MENU], []),
    ("buenos dias", [MENU], ["Hi! This is"]),
    ("buenas tardes", [MENU], ["Hi! This is"]),
    ("ya termine mis ejercicios", [DONE], []),
    ("ya los hice", [DONE], []),
    ("listo", [DONE], []),
    ("hecho", [DONE], []),
    ("me siento mejor", [BETTER], ["Glad to hear"]),
    ("ya no me duele", [BETTER], []),
    ("asdf qwerty", ["Sorry"], []),  # not Spanish: the English menu
    ("no entiendo nada de esto", [UNKNOWN, PHONE], []),
    # --- mixed with English: the language with more words answers -------------------------
    ("hola, do you take aetna?", ["Yes, we accept Aetna"], []),
    ("where are you ubicados", ["We are in"], []),
    ("what time abren hoy", ["8am-1pm"], []),  # as many words each way: English
]  # fmt: skip


@pytest.fixture(scope="module")
def replier():
    from zoneinfo import ZoneInfo

    from bot.content import load_content
    from bot.replies import Replier

    return Replier(load_content(), ZoneInfo("America/New_York"))


def test_there_are_at_least_150_phrasings():
    assert len(CASES) >= 150 and len({c[0] for c in CASES}) == len(CASES)


@pytest.mark.parametrize(("text", "must", "must_not"), CASES, ids=[c[0][:40] for c in CASES])
def test_spanish_phrasing(replier, text, must, must_not):
    check_answer(replier, text, must, must_not)


@pytest.mark.parametrize(("text", "must", "must_not"), CASES, ids=[c[0][:40] for c in CASES])
def test_emergency_first_in_spanish(replier, text, must, must_not):
    if E911 in must:
        assert replier.reply(text, FRIDAY_10AM).body.startswith("Llame al 911")
