"""How patients write in Spanish, for the one reader of texts (``bot.replies``): the words
that carry each intent, the days, shorthand and phrases. Written as texts are read:
lower case, without accents. English words win where a word is both.
"""

from __future__ import annotations

# The same intents as the English words (bot.replies.KEYWORDS).
KEYWORDS = {
    "hours": "horario horarios hora horas abierto abiertos abierta abiertas abren abre "
    "cierran cierra cerrado cerrados cerrada atienden",
    "location": "donde direccion ubicacion ubicados ubicado ubicada queda quedan llegar llego "
    "estacionamiento estacionar estacionarme estacionarse parqueo mapa",
    "insurance": "seguro seguros aseguranza aceptan acepta aceptas aceptaran planes cobertura "
    "cubre cubren",
    "list": "ejercicio ejercicios estiramiento estiramientos rutina rutinas",
    "appointment": "cita citas agendar reprogramar cancelar consulta",
    "thanks": "gracias",
    "greeting": "hola buenos buenas saludos",
    "pain": "dolor dolores duele duelen adolorido adolorida molestia molestias hormigueo "
    "entumecido entumecida calambre calambres espalda cuello rodilla rodillas cadera ciatica",
    "cost": "cuesta cuestan precio precios costo costos pagar pago",
    "phone": "telefono llamar llamen llamenme llamarme llamada hablar persona alguien "
    "recepcion recepcionista",
    "media": "video videos foto fotos imagen imagenes dibujo",
    "enroll": "inscribirme inscribo inscribir registrarme",
    "reminders": "recordatorio recordatorios",
    "holiday": "navidad feriado feriados festivo festivos",
    "dosage": "repeticiones",
    "ask_clinic": "embarazada embarazo cirugia operacion medicina medicinas medicamento "
    "medicamentos pastilla pastillas ibuprofeno hielo calor",
    "spanish": "espanol habla hablan",
}

DAY_WORDS: dict[str, int | str] = {
    "lunes": 0, "martes": 1, "miercoles": 2, "jueves": 3, "viernes": 4,
    "sabado": 5, "sabados": 5, "domingo": 6, "domingos": 6,
    "hoy": "today", "manana": "tomorrow", "ahora": "now", "ahorita": "now",
}  # fmt: skip

SHORTHAND = {
    "q": "que", "ke": "que", "dnd": "donde", "xq": "porque", "pq": "porque",
    "porfa": "please", "xfa": "please", "tmb": "tambien", "tb": "tambien", "msj": "mensaje",
}  # fmt: skip

# English shorthand that is a Spanish word ("ya": already).
NOT_SHORTHAND = frozenset({"ya"})

# Phrases read as one word (or as the English the reader knows).
PHRASES = {
    "por favor": "please", "fin de semana": "weekend", "fines de semana": "weekend",
    "por la manana": "morning", "en la manana": "morning", "de la manana": "morning",
    "por la tarde": "afternoon", "en la tarde": "afternoon",
    "por la noche": "evening", "en la noche": "evening",
    "cuantas veces": "howoften", "cuanto tiempo": "howlong", "por cuanto tiempo": "howlong",
    "cuanto cuesta": "price", "cuanto cobran": "price", "cuanto es": "price",
    "sin seguro": "uninsured", "no tengo seguro": "uninsured",
    "accion de gracias": "thanksgiving", "ano nuevo": "newyear",
    "como llego": "directions", "como llegar": "directions",
    "es seguro": "is it ok", "seria seguro": "is it ok",
    "de nada": "thanks", "buenos dias": "hello", "buenas tardes": "hello",
    "buenas noches": "hello", "que tal": "hello", "ya no me duele": "feel better",
}  # fmt: skip

# Spanish words of doing and finishing the exercises.
DONE_WORDS = frozenset({"listo", "hecho", "termine", "ya termine", "terminado", "ya los hice",
                        "ya lo hice", "ya hice mis ejercicios"})  # fmt: skip

# Common Spanish words, never "corrected" into a keyword by fuzzy matching ("pero" is not
# "person").
COMMON = frozenset(
    "pero para como cuando tengo tiene tienen tiene mucho mucha muchos hace muy esta este "
    "estoy estan esto todo toda todos nada algo bien mal gracias puedo puede pueden quiero "
    "necesito donde porque aunque desde hasta entre sobre tambien siempre nunca ahora despues "
    "antes todavia mismo otra otro otros otras poco cada dias semana noche tarde manana "
    "hacer hago hice hizo tomar tomo sentir siento duele duelen favor usted ustedes ellos "
    "ellas nosotros nuestra nuestro mejor peor igual sola solo casa trabajo carro auto "
    "encuentro encuentra edificio verdad perdido perdida".split()
)
