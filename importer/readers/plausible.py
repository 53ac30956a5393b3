"""Which legacy encoding reads a file's words as real text.

A file that is not UTF-8 decodes without error in many legacy encodings; the
wrong ones give mojibake ("£ukasz Wiœniewski", "Äìèòðèé"). ``judge`` looks at
how each encoding reads the file's distinct non-ASCII words and keeps the
readings that look like text people write:

- no unprintable or unassigned characters;
- no symbol between letters (``Ko³odziej``, ``Wi¶niewski``, ``£ukasz``);
- one script per word (no Latin next to Cyrillic, Arabic marks or Chinese
  characters; Japanese kanji with kana is one script), no kana in a Chinese
  reading, no lone Hangul letters;
- the accented letters of each Latin word belong to one language's alphabet
  (``Dvoøák`` fits none), and sensible case (no ``lowerÜpper``);
- Greek final sigma only at the end of a word, no Cyrillic word starting
  with a soft or hard sign.

Readings that give identical text are one reading. When several different
readings pass, they are ranked in turn by: fewer suspicious words; fewer
languages needed for all accented Latin letters (a Polish list read as
cp1252 needs French, Icelandic and more); fewer uncommon CJK characters; and
charset-normalizer's language coherence. A reading that wins clearly is
taken; otherwise the verdict is ambiguous and the file is refused with a
sample in each reading, never guessed.
"""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache

from charset_normalizer.cd import coherence_ratio

# (codec name as codecs.lookup spells it, what a user calls it); the order is
# the preference among encodings that read a file identically
ENCODINGS: dict[str, str] = {
    "utf-8": "Unicode",
    "utf-8-sig": "Unicode, with BOM",
    "utf-16": "Unicode, UTF-16",
    "utf-16-le": "Unicode, UTF-16",
    "utf-16-be": "Unicode, UTF-16",
    "utf-32": "Unicode, UTF-32",
    "cp1252": "Western European",
    "iso8859-15": "Western European, ISO with €",
    "cp1250": "Central European",
    "iso8859-2": "Central European, ISO",
    "cp1251": "Cyrillic",
    "koi8-r": "Cyrillic, KOI8-R",
    "koi8-u": "Cyrillic, KOI8-U",
    "iso8859-5": "Cyrillic, ISO",
    "cp1253": "Greek",
    "iso8859-7": "Greek, ISO",
    "cp1254": "Turkish",
    "iso8859-9": "Turkish, ISO",
    "cp1257": "Baltic",
    "iso8859-13": "Baltic, ISO",
    "cp1255": "Hebrew",
    "iso8859-8": "Hebrew, ISO",
    "cp1256": "Arabic",
    "iso8859-6": "Arabic, ISO",
    "cp932": "Japanese, Shift-JIS",
    "euc_jp": "Japanese, EUC-JP",
    "gb18030": "Chinese Simplified, GB18030",
    "cp950": "Chinese Traditional, Big5",
    "cp949": "Korean, EUC-KR",
    "iso8859-1": "Western European, Latin-1",
}
LEGACY_ENCODINGS: tuple[str, ...] = tuple(name for name in ENCODINGS if not name.startswith("utf"))
CHINESE = frozenset({"gb18030", "cp950"})
JAPANESE = frozenset({"cp932", "euc_jp"})
KOREAN = frozenset({"cp949"})

# The letters beyond a-z of the languages whose people fill contact lists in
# the legacy encodings above (lower case).
LATIN_ALPHABETS: dict[str, frozenset[str]] = {name: frozenset(letters) for name, letters in {
    "German": "äöüß", "French": "àâæçéèêëîïôœùûüÿ", "Spanish": "áéíñóúü", "Portuguese": "áâãàçéêíóôõú",
    "Italian": "àèéìíîòóùú", "Catalan": "àçèéíïòóúü", "Dutch": "áéëíïóöúüè", "Danish/Norwegian": "æøåéó",
    "Swedish": "åäöé", "Finnish": "åäöšž", "Icelandic": "áðéíóúýþæö", "Estonian": "äöõüšž",
    "Polish": "ąćęłńóśźż", "Czech": "áčďéěíňóřšťúůýž", "Slovak": "áäčďéíĺľňóôŕšťúýž",
    "Hungarian": "áéíóöőúüű", "Slovene/Croatian": "čćđšž", "Romanian": "ăâîșşțţ", "Albanian": "çë",
    "Turkish": "çğıöşüâîû", "Lithuanian": "ąčęėįšųūž", "Latvian": "āčēģīķļņšūž",
}.items()}
# punctuation that does stand between letters in real names: O’Brien, Jean–Pierre, Col·legi, O´Neill
_BETWEEN_LETTERS_OK = frozenset("’‘´`ʼ·–—‐‑")

CLEAR_MARGIN = 0.1          # how much better a reading must be on a measured criterion
KOREAN_WORDS = 5
LOWER_CASE_WORDS = 5            # Hangul words that make a Korean reading certain
COHERENCE_MIN_LETTERS = 80  # below this, charset-normalizer's language coherence is noise
SUSPICIOUS_SHARE = 0.01     # of the words, a plausible reading may have this many odd ones


def encoding_label(name: str) -> str:
    return ENCODINGS.get(name, name)


@dataclass
class Verdict:
    encoding: str | None = None
    ambiguous: list[tuple[str, str]] = field(default_factory=list)   # (encoding, sample text)
    sample_row: int = 0
    sample_text: str = ""


@dataclass
class Reading:
    names: list[str]                  # encodings giving this same text, in preference order
    words: tuple[str | None, ...]     # None: the word does not decode
    suspicious: int = 0
    languages: int = 0                # languages needed for every accented Latin letter
    hangul_words: int = 0             # words in Hangul: a Korean reading, not an accident
    cased_words: int = 0              # words in Latin, Cyrillic or Greek letters
    capitals: int = 0                 # of which with a capital letter
    uncommon: float = 0.0             # share of uncommon CJK characters
    cjk: int = 0                      # Chinese characters (Hanzi, Kanji, Hanja)
    _coherence: float | None = None

    @property
    def coherence(self) -> float:
        if self._coherence is None:
            text = " ".join(w for w in self.words if w)
            long_enough = sum(ch.isalpha() for ch in text) >= COHERENCE_MIN_LETTERS
            matches = coherence_ratio(text) if long_enough else []
            self._coherence = max((ratio for _, ratio in matches), default=0.0)
        return self._coherence


def judge(candidates: list[str], words: list[bytes], sample_lines: list[tuple[int, bytes]]) -> Verdict:
    """The encoding among ``candidates`` (each decodes the whole file) that reads
    ``words`` (the file's distinct non-ASCII words) as plausible text."""
    readings: dict[tuple[str | None, ...], Reading] = {}
    for name in candidates:
        decoded = tuple(_decode(word, name) for word in words)
        if decoded in readings:
            readings[decoded].names.append(name)
        else:
            readings[decoded] = Reading([name], decoded)
    for reading in readings.values():
        _measure(reading)
    allowed = int(len(words) * SUSPICIOUS_SHARE)
    plausible = [r for r in readings.values() if r.suspicious <= allowed]
    if len(plausible) == 1:
        return Verdict(encoding=plausible[0].names[0])
    if not plausible:
        row, text = _sample(sample_lines, candidates[:1] or ["cp1252"])
        return Verdict(sample_row=row, sample_text=text)
    ranked = _rank(plausible)
    if len(ranked) == 1:
        return Verdict(encoding=ranked[0].names[0])
    names = [r.names[0] for r in ranked[:4]]
    row, _ = _sample(sample_lines, names)
    texts = [_excerpt(sample_lines, row, name) for name in names]
    return Verdict(ambiguous=list(zip(names, texts)), sample_row=row)


def _decode(word: bytes, name: str) -> str | None:
    try:
        return word.decode(name)
    except UnicodeDecodeError:
        return None


def _rank(readings: list[Reading]) -> list[Reading]:
    """Narrow the readings criterion by criterion; what is left when one stays, or at the end."""
    left = sorted(readings, key=lambda r: (r.suspicious, r.languages, r.uncommon, -r.coherence))
    # Hangul words only come from a Korean file: a Chinese or Japanese file read
    # as Korean mixes Hangul with Hanja inside words within a few words
    for measure, margin in ((lambda r: r.suspicious, 0), (_not_surely_korean, 0),
                            (lambda r: r.languages, 0), (_all_lower_case, 0),
                            (lambda r: r.uncommon, CLEAR_MARGIN), (lambda r: -r.coherence, CLEAR_MARGIN)):
        best = min(measure(r) for r in left)
        left = [r for r in left if measure(r) <= best + margin] if margin else \
            [r for r in left if measure(r) == best]
        if len(left) == 1:
            break
    return left


def _not_surely_korean(reading: Reading) -> bool:
    """A Korean reading has Hangul words and no Chinese characters at all; a
    Chinese or Japanese file read as Korean gives Hanja among the Hangul."""
    return reading.hangul_words < KOREAN_WORDS or reading.cjk > 0


def _all_lower_case(reading: Reading) -> bool:
    """Names start with a capital: many words and not one capital is a Hebrew or
    Arabic file read as Cyrillic or Greek, not a list of names."""
    return reading.cased_words >= LOWER_CASE_WORDS and not reading.capitals


# -- measuring one reading -------------------------------------------------------

@lru_cache(maxsize=65536)
def _script(ch: str) -> str:
    name = unicodedata.name(ch, "")
    if name.startswith(("CJK UNIFIED", "CJK COMPATIBILITY IDEOGRAPH")):
        return "han"
    if name.startswith("HALFWIDTH KATAKANA"):
        return "halfwidth-kana"
    if name.startswith(("HIRAGANA", "KATAKANA")):
        return "kana"
    if name.startswith("HANGUL LETTER"):
        return "jamo"
    word = name.split(" ", 1)[0]
    return "" if word in ("COMBINING", "MODIFIER") else word.lower()


def _kind(ch: str) -> str:
    """'L' letter or mark, 'S' symbol or punctuation (or an odd digit), 'C' unprintable, ' ' other ASCII."""
    if ch.isascii():
        return "L" if ch.isalpha() else " "
    category = unicodedata.category(ch)
    if category[0] in "LM":
        return "L"
    if category == "Zs" or ch in "\u00ad\u200c\u200d":    # no-break space, soft hyphen, joiners
        return " "
    if category[0] in "CZ":
        return "C"
    return "S"


def _measure(reading: Reading) -> None:
    chinese = all(name in CHINESE for name in reading.names)
    common = _COMMON_TEST.get(reading.names[0], _never_common)
    latin_letters: set[str] = set()
    cjk = uncommon = 0
    for text in reading.words:
        if text is None or _suspicious_token(text):
            reading.suspicious += 1
            continue
        odd = False
        for word in _words(text):
            letters, word_cjk, word_uncommon, word_odd = _look_at_word(word, chinese, common)
            reading.hangul_words += len(word) > 1 and all(_script(ch) == "hangul" for ch in word)
            if len(word) > 1 and not word.isascii() and _script(word[-1]) in ("latin", "cyrillic", "greek"):
                reading.cased_words += 1
                reading.capitals += any(ch.isupper() for ch in word)
            latin_letters |= letters
            cjk += word_cjk
            uncommon += word_uncommon
            odd = odd or word_odd
        reading.suspicious += odd
    reading.languages = _languages_needed(latin_letters)
    reading.uncommon = uncommon / cjk if cjk else 0.0
    reading.cjk = cjk


def _suspicious_token(text: str) -> bool:
    kinds = [_kind(ch) for ch in text]
    if "C" in kinds:
        return True
    for i, kind in enumerate(kinds):
        if kind != "S" or text[i] in _BETWEEN_LETTERS_OK:
            continue
        before = kinds[i - 1] if i else " "
        after = kinds[i + 1] if i + 1 < len(kinds) else " "
        if after == "L" and (before == "L" or before == " "):
            return True        # Ko³odziej, £ukasz
    return False


def _words(text: str) -> list[str]:
    words, current = [], []
    for ch in text:
        if _kind(ch) == "L":
            current.append(ch)
        elif current:
            words.append("".join(current))
            current = []
    if current:
        words.append("".join(current))
    return words


def _look_at_word(word: str, chinese: bool, common) -> tuple[set[str], int, int, bool]:
    """(accented Latin letters, CJK characters, uncommon ones, suspicious?)."""
    scripts = {s for s in map(_script, word) if s}
    odd = len(scripts) > 1 and not scripts <= {"han", "kana"}
    odd = odd or "jamo" in scripts or (chinese and "kana" in scripts)
    odd = odd or unicodedata.category(word[0]).startswith("M")          # a word cannot start with a mark
    latin: set[str] = set()
    if scripts == {"latin"}:
        latin = {ch.lower()[0] for ch in word if not ch.isascii() and ch.isalpha()} - _ASCII_LETTERS
        if latin and not any(latin <= alphabet for alphabet in LATIN_ALPHABETS.values()):
            odd = True
    if "hangul" in scripts and any(_script(ch) == "hangul" and not _in_euc_kr(ch) for ch in word):
        odd = True                              # syllables outside KS X 1001: not in names
    if "hebrew" in scripts and any(word[i] in _HEBREW_FINALS and _script(word[i + 1]) == "hebrew"
                                   and unicodedata.category(word[i + 1])[0] == "L"
                                   for i in range(len(word) - 1)):
        odd = True                              # a final letter form inside a word
    if "greek" in scripts and sum("TONOS" in unicodedata.name(ch, "") for ch in word) > 1:
        odd = True                              # a Greek word has at most one accent
    if "cyrillic" in scripts and _longest_run(word.lower(), _CYRILLIC_VOWELS + "ьъй") >= 5:
        odd = True
    if "arabic" in scripts and _odd_arabic(word):
        odd = True
    for i in range(1, len(word)):
        if word[i - 1].islower() and word[i].isupper() and not word[i].isascii():
            odd = True                          # ZdenÌk, бМЕЛУЕК
    if "greek" in scripts and ("ς" in word[:-1] or (len(word) > 1 and word.endswith("σ"))):
        odd = True
    if "cyrillic" in scripts and word[0] in "ЬЪЫьъы":
        odd = True
    cjk = sum(1 for ch in word if _script(ch) == "han")
    rare = sum(1 for ch in word if _script(ch) == "han" and not common(ch)) if cjk else 0
    return latin, cjk, rare, odd


_ASCII_LETTERS = frozenset("abcdefghijklmnopqrstuvwxyz")
_ARABIC_WORD_END_ONLY = frozenset("ةى")     # taa marbuta and alif maqsura end a word


def _odd_arabic(word: str) -> bool:
    """Vowel marks on half the letters (names are written without them), or a word-final letter inside."""
    marks = sum(1 for ch in word if unicodedata.category(ch) == "Mn")
    letters = len(word) - marks
    if marks and marks * 2 >= letters:
        return True
    return any(word[i] in _ARABIC_WORD_END_ONLY and unicodedata.category(word[i + 1]) == "Lo"
               for i in range(len(word) - 1))
_HEBREW_FINALS = frozenset("ךםןףץ")
_CYRILLIC_VOWELS = "аеёиоуыэюяієїў"


def _longest_run(word: str, breakers: str) -> int:
    """The longest run of letters that are not in ``breakers`` (consonants, for vowels)."""
    longest = run = 0
    for ch in word:
        run = 0 if ch in breakers else run + 1
        longest = max(longest, run)
    return longest


@lru_cache(maxsize=65536)
def _in_euc_kr(ch: str) -> bool:
    """One of the 2,350 Hangul syllables of KS X 1001 (the others need an 8-byte sequence in EUC-KR)."""
    return _code(ch, "euc_kr") != 0


def _code(ch: str, encoding: str) -> int:
    try:
        raw = ch.encode(encoding)
    except UnicodeEncodeError:
        return 0
    return int.from_bytes(raw, "big") if len(raw) == 2 else 0


# The characters people's names are written with: the first level of each
# national standard (GB2312 level 1: the 3,755 most used hanzi; Big5's 5,401
# frequently used characters; JIS X 0208 level 1: 2,965 kanji). Korean names
# are written in Hangul, so a Chinese character in a Korean reading is uncommon.
@lru_cache(maxsize=65536)
def _common_simplified(ch: str) -> bool:
    return 0xB0A1 <= _code(ch, "gb2312") <= 0xD7F9


@lru_cache(maxsize=65536)
def _common_traditional(ch: str) -> bool:
    return 0xA440 <= _code(ch, "big5") <= 0xC67E


@lru_cache(maxsize=65536)
def _common_japanese(ch: str) -> bool:
    return 0xB0A1 <= _code(ch, "euc_jp") <= 0xCFD3


def _never_common(ch: str) -> bool:
    return False


_COMMON_TEST = {"gb18030": _common_simplified, "cp950": _common_traditional, "cp932": _common_japanese,
                "euc_jp": _common_japanese}


def _languages_needed(letters: set[str]) -> int:
    """How many languages' alphabets it takes to cover ``letters`` (greedy)."""
    left, count = set(letters), 0
    while left:
        best = max(LATIN_ALPHABETS.values(), key=lambda alphabet: len(left & alphabet))
        if not left & best:
            return count + len(left)
        left -= best
        count += 1
    return count


# -- samples for a message ---------------------------------------------------------

SAMPLE_CHARS = 60


def _sample(lines: list[tuple[int, bytes]], names: list[str]) -> tuple[int, str]:
    """A line (number, text in the first encoding) where the readings differ."""
    for number, line in lines:
        texts = {line.decode(name, "replace") for name in names}
        if len(texts) > 1 or len(names) == 1:
            return number, _cut(line.decode(names[0], "replace"))
    number, line = lines[0] if lines else (0, b"")
    return number, _cut(line.decode(names[0], "replace"))


def _excerpt(lines: list[tuple[int, bytes]], row: int, name: str) -> str:
    for number, line in lines:
        if number == row:
            return _cut(line.decode(name, "replace"))
    return ""


def _cut(text: str) -> str:
    """At most SAMPLE_CHARS characters, from just before the first non-ASCII one."""
    text = text.strip()
    if len(text) <= SAMPLE_CHARS:
        return text
    first = next((i for i, ch in enumerate(text) if not ch.isascii()), 0)
    start = max(0, first - 15)
    return ("…" if start else "") + text[start:start + SAMPLE_CHARS] + "…"
