"""InterFormer checkpoint -> IFG graph converter.

`python3 -m converter CHECKPOINT -o OUTDIR` turns an official InterFormer
PyTorch checkpoint into NAME.encoder.ifg and NAME.decoder.ifg
(format/FORMAT.md). The package never imports torch: checkpoints are read
with zipfile + a restricted unpickler (checkpoint.py).

Modules: checkpoint (reader), config (mmseg config parsing and the model's
hyper-parameters), model/ (expected state_dict, weight transforms, graph
builders), convert (the pipeline), inspect (IFG parser and printer),
ifg (IFG writer).
"""

__version__ = "0.1.0"
