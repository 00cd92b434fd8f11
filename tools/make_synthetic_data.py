"""Write the embedded synthetic street scenes (Cityscapes layout) to a folder."""
import argparse
import time

from lrseg_mm.datasets import generate_synthetic_cityscapes


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('root', nargs='?', default='data/synthetic_cityscapes')
    parser.add_argument('--num-train', type=int, default=200)
    parser.add_argument('--num-val', type=int, default=50)
    parser.add_argument('--size', type=int, nargs=2, default=(128, 256), metavar=('H', 'W'))
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args(argv)
    start = time.time()
    generate_synthetic_cityscapes(args.root, args.num_train, args.num_val, tuple(args.size),
                                  args.seed)
    print(f'wrote {args.num_train} train + {args.num_val} val scenes to {args.root} '
          f'in {time.time() - start:.1f} s')


if __name__ == '__main__':
    main()
