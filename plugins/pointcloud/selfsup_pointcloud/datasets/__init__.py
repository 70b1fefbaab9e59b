"""Point-cloud datasets: procedural rooms, S3DIS, ScanNet, ModelNet and folders of point-cloud files."""
