"""InterFormer as IFG graphs: expected state_dict (spec), weight access and
transforms (params), graph-writing helpers (builder), and the encoder and
decoder graph builders."""
