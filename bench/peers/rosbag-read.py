"""Peer for the ROS 1 ingest bench: Debian python3-rosbag reading (deserialising) every message."""
import json
import sys

import rosbag

count = 0
with rosbag.Bag(sys.argv[1]) as bag:
    for _topic, _msg, _t in bag.read_messages():
        count += 1
print(json.dumps({"messages": count}))
