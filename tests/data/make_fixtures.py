#!/usr/bin/env python3
"""Write the small files tests/unit/test_io.cpp reads (numpy and the standard library only).

    /usr/bin/python3 tests/data/make_fixtures.py      # rewrites tests/data/io/

Values follow formulas that the C++ tests compute independently:
  integers  v[i] = (i * 37) % 251 - 100   (unsigned dtypes: without the - 100)
  bool      v[i] = (i % 3 == 0)
  floats    v[i] = (i - 2) * 0.75
The torch checkpoint is written without PyTorch: a stand-in `torch` module makes Python's pickle
emit the same globals, persistent ids and zip layout that torch.save writes.
"""
import collections
import io
import os
import pickle
import struct
import sys
import types
import zipfile
import zlib

import numpy as np

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'io')


def int_values(n, unsigned=False):
    return [(i * 37) % 251 - (0 if unsigned else 100) for i in range(n)]


def float_values(n):
    return [(i - 2) * 0.75 for i in range(n)]


def formula_array(dtype, shape):
    n = int(np.prod(shape))
    dt = np.dtype(dtype)
    if dt.kind == 'b':
        vals = [i % 3 == 0 for i in range(n)]
    elif dt.kind == 'f':
        vals = float_values(n)
    else:
        vals = int_values(n, unsigned=dt.kind == 'u')
    return np.array(vals, dtype=dt).reshape(shape)


def save_npy(name, arr, version=None):
    with open(os.path.join(OUT, name), 'wb') as f:
        np.lib.format.write_array(f, arr, version=version, allow_pickle=True)


def write_npy_files():
    for dt in ['b1', 'i1', 'u1', 'i2', 'u2', 'i4', 'u4', 'i8', 'u8', 'f2', 'f4', 'f8']:
        save_npy(f'{dt}.npy', formula_array('<' + dt if dt not in ('b1', 'i1', 'u1') else dt,
                                            (2, 3)))
    save_npy('v2.npy', formula_array('<i2', (4,)), version=(2, 0))
    save_npy('v3.npy', formula_array('<f4', (2, 2)), version=(3, 0))
    save_npy('scalar.npy', np.array(-7, dtype='<i8'))
    save_npy('empty.npy', np.zeros((0, 3), dtype='<f8'))
    save_npy('fortran.npy', np.asfortranarray(formula_array('<i4', (2, 3))))
    save_npy('bigendian.npy', formula_array('>i4', (2, 3)))
    save_npy('object.npy', np.array([1, 'a'], dtype=object))


def write_zip(path, entries, compression):
    """Like numpy.savez / savez_compressed, with fixed timestamps so reruns give equal bytes."""
    with zipfile.ZipFile(path, 'w', compression) as z:
        for name, data in entries:
            z.writestr(zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0)), data,
                       compress_type=compression)


def npy_bytes(arr):
    buf = io.BytesIO()
    np.lib.format.write_array(buf, arr)
    return buf.getvalue()


def write_npz_files():
    entries = [('first.npy', npy_bytes(formula_array('<i8', (3, 4)))),
               ('second.npy', npy_bytes(formula_array('<f4', (5,))))]
    write_zip(os.path.join(OUT, 'stored.npz'), entries, zipfile.ZIP_STORED)
    write_zip(os.path.join(OUT, 'deflated.npz'), entries, zipfile.ZIP_DEFLATED)
    with np.load(os.path.join(OUT, 'deflated.npz')) as z:  # numpy's own reader must agree
        assert z['first'].tolist() == formula_array('<i8', (3, 4)).tolist()


def write_zip64():
    """A zip whose only entry uses ZIP64 fields everywhere (sizes, offset, end records)."""
    name = b'hello.txt'
    data = b'ZIP64 entry contents\n' * 3
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    packed = comp.compress(data) + comp.flush()
    crc = zlib.crc32(data)
    z64_local = struct.pack('<HHQQ', 1, 16, len(data), len(packed))
    local = struct.pack('<IHHHHHIIIHH', 0x04034b50, 45, 0, 8, 0, 0, crc, 0xffffffff, 0xffffffff,
                        len(name), len(z64_local)) + name + z64_local
    z64_central = struct.pack('<HHQQQ', 1, 24, len(data), len(packed), 0)
    central = struct.pack('<IHHHHHHIIIHHHHHII', 0x02014b50, 45, 45, 0, 8, 0, 0, crc,
                          0xffffffff, 0xffffffff, len(name), len(z64_central), 0, 0, 0, 0,
                          0xffffffff) + name + z64_central
    cd_offset = len(local) + len(packed)
    z64_end_offset = cd_offset + len(central)
    z64_end = struct.pack('<IQHHIIQQQQ', 0x06064b50, 44, 45, 45, 0, 0, 1, 1, len(central),
                          cd_offset)
    locator = struct.pack('<IIQI', 0x07064b50, 0, z64_end_offset, 1)
    end = struct.pack('<IHHHHIIH', 0x06054b50, 0, 0, 0xffff, 0xffff, 0xffffffff, 0xffffffff, 0)
    blob = local + packed + central + z64_end + locator + end
    path = os.path.join(OUT, 'zip64.zip')
    with open(path, 'wb') as f:
        f.write(blob)
    with zipfile.ZipFile(path) as z:  # Python's own reader must agree
        assert z.read('hello.txt') == data


# ---- a torch.save checkpoint without torch ------------------------------------------------------

def install_fake_torch():
    torch = types.ModuleType('torch')
    utils = types.ModuleType('torch._utils')
    optim = types.ModuleType('torch.optim')
    adam = types.ModuleType('torch.optim.adam')
    argparse_like = types.ModuleType('fakeargs')

    def make_function(module, name):
        def f(*args):
            raise RuntimeError('stand-in only')
        f.__module__, f.__name__, f.__qualname__ = module.__name__, name, name
        setattr(module, name, f)
        return f

    for fn in ['_rebuild_tensor_v2', '_rebuild_tensor_v3', '_rebuild_parameter']:
        make_function(utils, fn)

    def make_class(module, name, base=object):
        cls = type(name, (base,), {'__module__': module.__name__})
        setattr(module, name, cls)
        return cls

    for st in ['FloatStorage', 'DoubleStorage', 'HalfStorage', 'BFloat16Storage', 'LongStorage',
               'IntStorage', 'ShortStorage', 'CharStorage', 'ByteStorage', 'BoolStorage',
               'UntypedStorage']:
        make_class(torch, st)
    make_class(adam, 'Adam')
    make_class(argparse_like, 'Namespace')

    class DType:  # pickled by name, like torch.dtype
        __module__ = 'torch'

        def __init__(self, name):
            self.name = name

        def __reduce__(self):
            return self.name

    torch.uint16 = DType('uint16')
    for m in [torch, utils, optim, adam, argparse_like]:
        sys.modules[m.__name__] = m
    torch._utils = utils
    return torch


class Storage:
    def __init__(self, kind, key, raw, numel):
        self.kind, self.key, self.raw, self.numel = kind, key, raw, numel


class Tensor:
    def __init__(self, storage, offset, size, stride):
        self.args = (storage, offset, tuple(size), tuple(stride))

    def __reduce_ex__(self, protocol):
        utils = sys.modules['torch._utils']
        return (utils._rebuild_tensor_v2, self.args + (False, collections.OrderedDict()))


class TensorV3(Tensor):
    def __init__(self, storage, offset, size, stride, dtype):
        super().__init__(storage, offset, size, stride)
        self.dtype = dtype

    def __reduce_ex__(self, protocol):
        utils = sys.modules['torch._utils']
        return (utils._rebuild_tensor_v3,
                self.args + (False, collections.OrderedDict(), self.dtype))


class Parameter:
    def __init__(self, tensor):
        self.tensor = tensor

    def __reduce_ex__(self, protocol):
        utils = sys.modules['torch._utils']
        return (utils._rebuild_parameter, (self.tensor, True, collections.OrderedDict()))


class Opaque:
    def __reduce_ex__(self, protocol):
        return (sys.modules['fakeargs'].Namespace, ())


class CheckpointPickler(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, Storage):
            return ('storage', obj.kind, obj.key, 'cpu', obj.numel)
        return None


def write_torch_checkpoint():
    torch = install_fake_torch()
    storages = {}

    def storage(kind, dtype, values):
        arr = np.asarray(values, dtype=dtype)
        key = str(len(storages))
        s = Storage(getattr(torch, kind), key, arr.tobytes(), arr.size)
        storages[key] = s
        return s

    def contiguous(kind, dtype, shape):
        arr = formula_array(dtype, shape)
        stride = [int(np.prod(shape[k + 1:])) for k in range(len(shape))]
        return Tensor(storage(kind, dtype, arr.ravel()), 0, shape, stride)

    base = storage('FloatStorage', '<f4', float_values(12))  # a 3 x 4 matrix
    u16 = formula_array('<u2', (2, 3))
    untyped = Storage(torch.UntypedStorage, 'u', u16.tobytes(), u16.nbytes)
    storages['u'] = untyped
    state = collections.OrderedDict([
        ('conv.op.weight', contiguous('FloatStorage', '<f4', (2, 1, 3, 3))),
        ('conv.weight_bits', Tensor(storage('LongStorage', '<i8', [8]), 0, (1,), (1,))),
        ('transposed', Tensor(base, 0, (4, 3), (1, 4))),
        ('window', Tensor(base, 2, (5,), (1,))),
        ('param', Parameter(contiguous('FloatStorage', '<f4', (3,)))),
        ('i1', contiguous('CharStorage', 'i1', (2, 3))),
        ('f2', contiguous('HalfStorage', '<f2', (2, 3))),
        ('f8', contiguous('DoubleStorage', '<f8', (2, 3))),
        ('b1', contiguous('BoolStorage', 'b1', (2, 3))),
        ('i2', contiguous('ShortStorage', '<i2', (2, 3))),
        ('i4', contiguous('IntStorage', '<i4', (2, 3))),
        ('u1', contiguous('ByteStorage', 'u1', (2, 3))),
        ('u2', TensorV3(untyped, 0, (2, 3), (3, 1), torch.uint16)),
        ('expanded', Tensor(base, 1, (3, 2), (0, 1))),
        ('scalar', Tensor(base, 5, (), ())),
    ])
    checkpoint = {
        'epoch': 7,
        'arch': 'TinyNet',
        'best': 0.5,
        'flag': True,
        'nothing': None,
        'optimizer_type': sys.modules['torch.optim.adam'].Adam,
        'extras': {'list': [1, 2.5, 'x', (3,)], 'big': 2**70},
        'args': Opaque(),
        'state_dict': state,
    }
    pkl = bytearray()

    class Sink:
        def write(self, b):
            pkl.extend(b)

    CheckpointPickler(Sink(), protocol=2).dump(checkpoint)
    path = os.path.join(OUT, 'tiny-q.pth.tar')
    records = [('tiny-q/data.pkl', bytes(pkl)), ('tiny-q/byteorder', b'little')]
    records += [(f'tiny-q/data/{key}', s.raw) for key, s in storages.items()]
    records.append(('tiny-q/version', b'3\n'))
    write_zip(path, records, zipfile.ZIP_STORED)


def main():
    os.makedirs(OUT, exist_ok=True)
    write_npy_files()
    write_npz_files()
    write_zip64()
    write_torch_checkpoint()
    total = sum(os.path.getsize(os.path.join(OUT, f)) for f in os.listdir(OUT))
    print(f'wrote {len(os.listdir(OUT))} files, {total} bytes, to {OUT}')


if __name__ == '__main__':
    main()
