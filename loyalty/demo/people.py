"""Deterministic fake people, places and products for `seed_demo` and `generate_load_data`.

Everything is drawn from a caller's `random.Random`, so a seed reproduces the same data. Emails use
example.com (RFC 2606) so demo data can never reach a real inbox.
"""

import datetime as dt
import random
import unicodedata
from typing import Any

FEMALE_NAMES = [
    "Anna",
    "Eszter",
    "Zsófia",
    "Katalin",
    "Réka",
    "Júlia",
    "Petra",
    "Dóra",
    "Lilla",
    "Noémi",
    "Emma",
    "Sophie",
    "Laura",
    "Marie",
    "Clara",
    "Olivia",
    "Mia",
    "Lena",
    "Hannah",
    "Sara",
    "Ewa",
    "Tereza",
    "Ivana",
    "Elena",
    "Giulia",
    "Chloé",
    "Alice",
    "Ingrid",
    "Maja",
    "Nora",
]
MALE_NAMES = [
    "Bence",
    "Máté",
    "Levente",
    "Dániel",
    "Ádám",
    "Péter",
    "Gábor",
    "Tamás",
    "Zoltán",
    "Balázs",
    "Lukas",
    "Jonas",
    "Felix",
    "Paul",
    "Leon",
    "David",
    "Thomas",
    "Jan",
    "Martin",
    "Tomáš",
    "Marek",
    "Luca",
    "Marco",
    "Hugo",
    "Louis",
    "Oliver",
    "Noah",
    "Erik",
    "Mateo",
    "Samuel",
]
LAST_NAMES = [
    "Nagy",
    "Kovács",
    "Tóth",
    "Szabó",
    "Horváth",
    "Varga",
    "Kiss",
    "Molnár",
    "Németh",
    "Farkas",
    "Balogh",
    "Papp",
    "Takács",
    "Juhász",
    "Lakatos",
    "Mészáros",
    "Oláh",
    "Simon",
    "Rácz",
    "Fekete",
    "Müller",
    "Schmidt",
    "Schneider",
    "Fischer",
    "Weber",
    "Wagner",
    "Becker",
    "Novák",
    "Svoboda",
    "Dvořák",
    "Kowalski",
    "Nowak",
    "Rossi",
    "Bianchi",
    "Martin",
    "Bernard",
    "Dubois",
    "Smith",
    "Jones",
    "Taylor",
    "Brown",
    "Wilson",
    "Jensen",
    "Hansen",
    "García",
    "López",
    "Silva",
    "Costa",
]
# (city, zip, country, language, weight)
PLACES = [
    ("Budapest", "1051", "HU", "hu", 30),
    ("Debrecen", "4024", "HU", "hu", 6),
    ("Szeged", "6720", "HU", "hu", 5),
    ("Pécs", "7621", "HU", "hu", 4),
    ("Győr", "9021", "HU", "hu", 4),
    ("Miskolc", "3525", "HU", "hu", 3),
    ("Wien", "1010", "AT", "de", 6),
    ("Berlin", "10115", "DE", "de", 5),
    ("München", "80331", "DE", "de", 3),
    ("Praha", "11000", "CZ", "cs", 4),
    ("Bratislava", "81101", "SK", "sk", 3),
    ("Kraków", "31-001", "PL", "pl", 3),
    ("Milano", "20121", "IT", "it", 2),
    ("Paris", "75001", "FR", "fr", 2),
    ("London", "EC1A 1BB", "GB", "en", 3),
]
_PLACE_WEIGHTS = [p[4] for p in PLACES]
STREETS = [
    "Andrássy út",
    "Váci utca",
    "Kossuth tér",
    "Main Street",
    "Hauptstraße",
    "Rákóczi út",
    "Petőfi utca",
]
COLORS = ["red", "blue", "green", "yellow", "black", "white", "purple"]

# (product_id, name, category, price in EUR)
PRODUCTS = [
    ("TSH-1001-YEL-M", "Yellow T-Shirt", "t-shirts", 19.90),
    ("TSH-1002-BLK-L", "Black T-Shirt", "t-shirts", 19.90),
    ("HOD-2001-GRY-M", "Grey Hoodie", "hoodies", 49.00),
    ("JNS-3001-IND-32", "Indigo Jeans", "jeans", 69.00),
    ("SNK-4001-WHT-42", "White Sneakers", "shoes", 89.00),
    ("SNK-4002-RED-40", "Red Running Shoes", "shoes", 119.00),
    ("BAG-5001-BRN", "Leather Tote Bag", "bags", 139.00),
    ("CAP-6001-NAV", "Navy Cap", "accessories", 14.50),
    ("SCK-7001-MIX", "Socks (3 pairs)", "accessories", 9.90),
    ("JKT-8001-OLV-L", "Olive Rain Jacket", "jackets", 159.00),
    ("SWT-9001-CRM-S", "Cream Sweater", "knitwear", 59.00),
    ("BLT-1101-BLK", "Black Belt", "accessories", 24.00),
]


def ascii_slug(text: str) -> str:
    """'Zsófia Kovács' -> 'zsofia.kovacs' (email local parts stay ASCII)."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return ".".join(part for part in folded.lower().replace("-", " ").split() if part)


def person(rng: random.Random, number: int, *, today: dt.date) -> dict:
    """Profile attributes of one fake customer, as an opt_in event's data carries them."""
    gender = rng.choice(("female", "male", "female", "male", "other"))
    names = (
        FEMALE_NAMES if gender == "female" else MALE_NAMES if gender == "male" else FEMALE_NAMES + MALE_NAMES
    )
    first, last = rng.choice(names), rng.choice(LAST_NAMES)
    city, zip_code, country, language, _ = rng.choices(PLACES, weights=_PLACE_WEIGHTS)[0]
    age_days = rng.randint(18 * 365, 75 * 365)
    return {
        "first_name": first,
        "last_name": last,
        "email": f"{ascii_slug(first + ' ' + last)}.{number}@example.com",
        "gender": gender,
        "birth_date": (today - dt.timedelta(days=age_days)).isoformat(),
        "language": language,
        "country": country,
        "city": city,
        "zip": zip_code,
        "mobile_phone": f"+36 30 {rng.randint(100, 999)} {rng.randint(1000, 9999)}",
    }


def moved(rng: random.Random) -> dict:
    """A profile update: the customer moved or changed their phone."""
    city, zip_code, country, _, _ = rng.choices(PLACES, weights=_PLACE_WEIGHTS)[0]
    if rng.random() < 0.5:
        return {
            "city": city,
            "zip": zip_code,
            "country": country,
            "address": f"{rng.choice(STREETS)} {rng.randint(1, 120)}",
        }
    return {"mobile_phone": f"+36 70 {rng.randint(100, 999)} {rng.randint(1000, 9999)}"}


def basket(rng: random.Random, transaction_id: str) -> tuple[float, list[dict]]:
    """(total, items) of a checkout in the seeds' item shape (002)."""
    items: list[dict[str, Any]] = []
    for product_id, name, category, price in rng.sample(PRODUCTS, rng.choice((1, 1, 1, 2, 2, 3))):
        quantity = rng.choice((1, 1, 1, 2))
        items.append(
            {
                "transaction_id": transaction_id,
                "product_id": product_id,
                "product_name": name,
                "product_category": category,
                "quantity": quantity,
                "price": price,
                "subtotal": round(price * quantity, 2),
            }
        )
    return round(sum(item["subtotal"] for item in items), 2), items
