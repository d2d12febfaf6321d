#!/usr/bin/env python3
"""Train the Fashion-MNIST network (fashionlib.FashionNet) in float PyTorch on the CPU.

Fixed seed, 2 threads, a few CPU minutes. Inputs are the chip's int8 values / 128 (see
fashionlib.to_int8). Writes to OUT (default: build-examples/fashion at the repository root):
  fashion-float.pth     the float state dict
  test_x.npy, test_y.npy  the 10,000 test images as the chip reads them (int8, N x 1 x 28 x 28)
                          and their labels
  float_logits.npy      the float model's outputs on the test set (N x 10), for --reference
  train.json            float test accuracy, epochs, seconds
"""
import argparse
import json
import pathlib
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import fashionlib as fl  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=pathlib.Path, default=fl.BUILD_DIR)
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()

    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)

    train_img, train_lab = fl.load_split("train")
    test_img, test_lab = fl.load_split("test")
    xtr = fl.to_float(fl.to_int8(train_img))
    ytr = torch.from_numpy(train_lab.astype(np.int64))
    test_x = fl.to_int8(test_img)

    model = fl.FashionNet()
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    steps = args.epochs * ((len(xtr) + args.batch_size - 1) // args.batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=steps)
    gen = torch.Generator().manual_seed(args.seed)
    t0 = time.time()
    for epoch in range(args.epochs):
        model.train()
        perm = torch.randperm(len(xtr), generator=gen)
        total, seen = 0.0, 0
        for i in range(0, len(xtr), args.batch_size):
            idx = perm[i:i + args.batch_size]
            x, y = xtr[idx], ytr[idx]
            # horizontal flips: clothes are left-right symmetric
            flip = torch.rand(len(idx), generator=gen) < 0.5
            x = torch.where(flip[:, None, None, None], x.flip(3), x)
            loss = F.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * len(idx)
            seen += len(idx)
        acc, _ = fl.float_accuracy(model, test_x, test_lab)
        print(f"epoch {epoch + 1}/{args.epochs}: loss {total / seen:.4f}, test accuracy "
              f"{100 * acc:.2f}%, {time.time() - t0:.0f} s", flush=True)

    acc, logits = fl.float_accuracy(model, test_x, test_lab)
    torch.save(model.state_dict(), args.out / "fashion-float.pth")
    np.save(args.out / "test_x.npy", test_x)
    np.save(args.out / "test_y.npy", test_lab.astype(np.int64))
    np.save(args.out / "float_logits.npy", logits.astype(np.float32))
    info = {"float_accuracy": acc, "epochs": args.epochs, "seed": args.seed,
            "seconds": round(time.time() - t0, 1), "threads": args.threads,
            "batch_size": args.batch_size, "lr": args.lr}
    (args.out / "train.json").write_text(json.dumps(info, indent=1) + "\n")
    print(f"float test accuracy {100 * acc:.2f}% -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
