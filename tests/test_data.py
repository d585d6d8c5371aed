import hashlib
import io

import pytest
import torch

from diffusion2d import data as data_mod
from diffusion2d.data import DataError, load_datasaurus


def test_dino_is_142_normalised_points(dino):
    assert dino.shape == (142, 2) and dino.dtype == torch.float32
    assert torch.allclose(dino.mean(0), torch.zeros(2), atol=1e-5)
    assert torch.allclose(dino.std(0, unbiased=False), torch.ones(2), atol=1e-5)
    raw = load_datasaurus("dino", normalize=False)
    assert raw[0].tolist() == pytest.approx([55.3846, 97.1795])


@pytest.mark.parametrize("name", data_mod.SHAPES)
def test_every_shape_loads(name):
    assert load_datasaurus(name).shape == (142, 2)


def test_source_order(tmp_path, monkeypatch, tsv_bytes):
    good = tmp_path / "good.tsv"
    good.write_bytes(tsv_bytes)
    bad = tmp_path / "bad.tsv"
    bad.write_bytes(tsv_bytes.replace(b"55.3846", b"55.3847"))
    monkeypatch.setenv("DATASAURUS_TSV", str(bad))
    with pytest.raises(DataError, match="checksum mismatch.*DATASAURUS_TSV"):
        load_datasaurus()
    assert load_datasaurus(path=good).shape == (142, 2)  # explicit path wins over the env var
    monkeypatch.setenv("DATASAURUS_TSV", str(good))
    assert load_datasaurus().shape == (142, 2)


def test_download_when_no_local_copy(tmp_path, monkeypatch, tsv_bytes):
    monkeypatch.delenv("DATASAURUS_TSV", raising=False)
    monkeypatch.setattr(data_mod, "project_root", lambda: tmp_path)
    calls = []

    def fake_urlopen(url, timeout):
        calls.append(url)
        return io.BytesIO(tsv_bytes)

    monkeypatch.setattr(data_mod.urllib.request, "urlopen", fake_urlopen)
    assert load_datasaurus().shape == (142, 2)
    assert calls == [data_mod.URL]
    saved = (tmp_path / "data" / data_mod.FILENAME).read_bytes()
    assert hashlib.sha256(saved).hexdigest() == data_mod.SHA256
    load_datasaurus()  # now served from the local copy
    assert len(calls) == 1


def test_corrupt_download_is_rejected(tmp_path, monkeypatch):
    monkeypatch.delenv("DATASAURUS_TSV", raising=False)
    monkeypatch.setattr(data_mod, "project_root", lambda: tmp_path)
    monkeypatch.setattr(
        data_mod.urllib.request, "urlopen", lambda url, timeout: io.BytesIO(b"dataset\tx\ty\n")
    )
    with pytest.raises(DataError, match="fails the sha256 check"):
        load_datasaurus()
    assert not (tmp_path / "data" / data_mod.FILENAME).exists()


def test_offline_failure_names_the_remedies(tmp_path, monkeypatch):
    monkeypatch.delenv("DATASAURUS_TSV", raising=False)
    monkeypatch.setattr(data_mod, "project_root", lambda: tmp_path)

    def offline(url, timeout):
        raise OSError("network unreachable")

    monkeypatch.setattr(data_mod.urllib.request, "urlopen", offline)
    with pytest.raises(DataError, match="DATASAURUS_TSV"):
        load_datasaurus()


def test_bad_names_and_files(tmp_path):
    with pytest.raises(ValueError, match="unknown Datasaurus shape 'dinosaur'"):
        load_datasaurus("dinosaur")
    with pytest.raises(DataError, match="not found"):
        load_datasaurus(path=tmp_path / "missing.tsv")
    with pytest.raises(DataError, match=r"lacks column\(s\) \['y'\]"):
        data_mod.parse_datasaurus(b"dataset\tx\ndino\t1.0\n")
