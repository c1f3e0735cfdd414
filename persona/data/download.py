"""Download the U.S. Census Bureau's yearly ACS PUMS csv zips, resuming broken transfers and verifying each zip."""

from __future__ import annotations

import os
import re
import zipfile
import zlib
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn, TransferSpeedColumn

from persona.data.io import make_folder
from persona.errors import PersonaError

PUMS_BASE_URL = "https://www2.census.gov/programs-surveys/acs/data/pums"
FIRST_PUMS_YEAR = 2005  # the first year the ACS published PUMS files
CHUNK_SIZE = 1 << 20  # bytes buffered per write to the part file

# The zips are named by postal code (csv_pca.zip) but their members by FIPS code (psam_p06.csv), so readers need both.
STATE_CODES: dict[str, str] = {
    "AL": "01", "AK": "02", "AZ": "04", "AR": "05", "CA": "06", "CO": "08", "CT": "09", "DE": "10",
    "DC": "11", "FL": "12", "GA": "13", "HI": "15", "ID": "16", "IL": "17", "IN": "18", "IA": "19",
    "KS": "20", "KY": "21", "LA": "22", "ME": "23", "MD": "24", "MA": "25", "MI": "26", "MN": "27",
    "MS": "28", "MO": "29", "MT": "30", "NE": "31", "NV": "32", "NH": "33", "NJ": "34", "NM": "35",
    "NY": "36", "NC": "37", "ND": "38", "OH": "39", "OK": "40", "OR": "41", "PA": "42", "RI": "44",
    "SC": "45", "SD": "46", "TN": "47", "TX": "48", "UT": "49", "VT": "50", "VA": "51", "WA": "53",
    "WV": "54", "WI": "55", "WY": "56", "PR": "72",
}  # fmt: skip

_CONTENT_RANGE = re.compile(r"bytes\s+(?:(\d+)-\d+|\*)/(\d+|\*)")


class DownloadError(PersonaError):
    """A PUMS file could not be fetched; the message names the URL or file and what went wrong."""


def pums_urls(
    year: int, state: str | None = None, national: bool = False, period: str = "1-Year", base_url: str = PUMS_BASE_URL
) -> list[str]:
    """The person and housing zip URLs of one release, person first, checked here so a typo fails before any request."""
    if isinstance(year, bool) or not isinstance(year, int) or year < FIRST_PUMS_YEAR:
        raise DownloadError(f"year {year!r} has no PUMS files: the ACS PUMS starts in {FIRST_PUMS_YEAR}")
    if state is not None and not national:
        code = state.strip().upper()
        if code not in STATE_CODES:
            raise DownloadError(f"unknown state code {state!r}; valid codes: {', '.join(sorted(STATE_CODES))}")
        suffix = code.lower()
    elif national and state is None:
        suffix = "us"
    else:
        raise DownloadError("give exactly one of a state code or national=True")
    root = f"{base_url.rstrip('/')}/{year}/{period}"
    return [f"{root}/csv_p{suffix}.zip", f"{root}/csv_h{suffix}.zip"]


def download_pums(
    year: int,
    dest: Path = Path("outputs/pums"),
    state: str | None = None,
    national: bool = False,
    period: str = "1-Year",
    base_url: str | None = None,
    progress: bool = True,
    timeout: float = 60.0,
) -> list[Path]:
    """Fetch a release's person and housing zips into dest, so `--source pums:DIR` can read them offline afterwards."""
    urls = pums_urls(year, state=state, national=national, period=period, base_url=base_url or PUMS_BASE_URL)
    dest = Path(dest)
    return [download_file(url, dest / url.rsplit("/", 1)[-1], progress=progress, timeout=timeout) for url in urls]


def download_file(url: str, path: Path, progress: bool = True, timeout: float = 60.0) -> Path:
    """Fetch url to path through a .part file that later calls resume, so path only ever holds a whole, valid zip."""
    path = Path(path)
    if path.is_file() and _zip_problem(path) is None:
        return path
    make_folder(path.parent)
    part = path.with_name(path.name + ".part")
    if not _fetch(url, part, path.name, progress, timeout):
        # The server's file has another size than our part (416), so the part belongs to an older file: start over.
        part.unlink()
        _fetch(url, part, path.name, progress, timeout)
    problem = _zip_problem(part)
    if problem is not None:
        part.unlink()
        raise DownloadError(f"{url}: the download is not a valid zip ({problem}); deleted {part}")
    os.replace(part, path)
    return path


def _fetch(url: str, part: Path, label: str, progress: bool, timeout: float) -> bool:
    """Bring part up to the server's whole file; False when a 416 says the part cannot be a prefix of it."""
    offset = part.stat().st_size if part.exists() else 0
    # Identity encoding, so Content-Length, ranges and the bytes we write all count the file itself.
    headers = {"Accept-Encoding": "identity"}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    try:
        with (
            httpx.Client(timeout=timeout, follow_redirects=True) as client,
            client.stream("GET", url, headers=headers) as response,
        ):
            if response.status_code == 416 and offset:
                return _content_range(response)[1] == offset
            _check_status(url, response)
            if response.status_code == 206:
                start, total = _content_range(response)
                if start != offset:
                    raise DownloadError(
                        f"{url}: asked for bytes from {offset} but the server sent a range from {start}"
                    )
            else:
                offset = 0  # the server ignored the range: the body is the whole file
                length = response.headers.get("Content-Length")
                total = int(length) if length and length.isdigit() else None
            _receive(url, response, part, label, offset, total, progress)
    except httpx.HTTPError as error:
        raise DownloadError(
            f"{url}: {_host(url)} could not be reached ({type(error).__name__}: {error}). {_by_hand(url, part)}"
        ) from error
    return True


def _receive(
    url: str, response: httpx.Response, part: Path, label: str, offset: int, total: int | None, progress: bool
) -> None:
    """Write the body after the first offset bytes of part; a short transfer keeps the part for the next call."""
    received = offset
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
    )
    with (
        Progress(*columns, console=Console(stderr=True), disable=not progress) as bar,
        # Unchunked reads into a buffered file: every byte that arrived before a break reaches the part.
        part.open("ab" if offset else "wb", buffering=CHUNK_SIZE) as handle,
    ):
        task = bar.add_task(label, total=total, completed=offset)
        try:
            for chunk in response.iter_raw():
                handle.write(chunk)
                received += len(chunk)
                bar.update(task, completed=received)
        except httpx.HTTPError as error:
            raise DownloadError(
                f"{url}: the connection to {_host(url)} broke after {received} of {total or 'unknown'} bytes "
                f"({type(error).__name__}: {error}); {part} is kept and the next call resumes it. "
                f"{_by_hand(url, part)}"
            ) from error
    if total is not None and received < total:
        raise DownloadError(
            f"{url}: the transfer ended after {received} of {total} bytes; {part} is kept and the next call resumes it"
        )


def _check_status(url: str, response: httpx.Response) -> None:
    """Turn HTTP failures into errors that say which file is missing rather than a bare status code."""
    if response.status_code == 404:
        raise DownloadError(
            f"{url}: 404 Not Found; the Census Bureau has no such file (check the year, state and period in the URL)"
        )
    if response.status_code not in (200, 206):
        raise DownloadError(f"{url}: HTTP {response.status_code} {response.reason_phrase}")


def _content_range(response: httpx.Response) -> tuple[int | None, int | None]:
    """(first byte, total size) from Content-Range, None where the header leaves it out, to check a range reply."""
    match = _CONTENT_RANGE.fullmatch(response.headers.get("Content-Range", "").strip())
    if match is None:
        return None, None
    start, total = match.groups()
    return (int(start) if start else None), (int(total) if total.isdigit() else None)


def _zip_problem(path: Path) -> str | None:
    """What is wrong with the zip at path, or None; read in full so a truncated or corrupt file is never trusted."""
    try:
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()
    except (zipfile.BadZipFile, zlib.error, EOFError) as error:
        return f"{type(error).__name__}: {error}"
    return None if bad is None else f"member {bad!r} fails its CRC check"


def _host(url: str) -> str:
    return urlsplit(url).netloc or url


def _by_hand(url: str, part: Path) -> str:
    """The way out when this machine cannot download: fetch the zips elsewhere and point the CLI at them."""
    folder = part.parent
    return (
        f"If {_host(url)} cannot be reached from here, download {url} by hand into {folder} "
        f"and read it with `--source pums:{folder}`."
    )
