#!/usr/bin/env python3
"""Fire the seed's alert chain from the SNS topic and show the page PagerDuty opened.

moto does not turn log lines into metrics nor evaluate alarms, so the demo starts
where CloudWatch would: it publishes a CloudWatch-alarm notification to the
blueprint's topic. SNS delivers it over the subscription the blueprint made to the
PagerDuty integration's CloudWatch endpoint, and PagerDuty (the emulator) opens an
incident assigned to whoever is on call now. Usage: page.py STATE_FILE PD_URL TOKEN
"""
import json
import sys
import time
import urllib.request

import boto3  # ships with moto, in the project venv

state_file, pd_url, token = sys.argv[1:4]
state = json.load(open(state_file))["resources"]
alarm = state["lambda-error-error-alarm"]["resource"]["outputs"]["alarm_name"]
topic = state["lambda-error-topic"]["resource"]["outputs"]["arn"]
service = state["lambda-error-service"]["resource"]["id"]

boto3.client("sns").publish(
    TopicArn=topic,
    Message=json.dumps({
        "AlarmName": alarm,
        "AlarmDescription": "error-function logged ERROR",
        "NewStateValue": "ALARM",
        "NewStateReason": "Threshold Crossed: 1 datapoint [1.0] was >= the threshold (1.0).",
    }),
)


def get(path):
    request = urllib.request.Request(pd_url + path, headers={
        "Authorization": f"Token token={token}",
        "Accept": "application/vnd.pagerduty+json;version=2",
    })
    return json.load(urllib.request.urlopen(request))


for _ in range(50):
    incidents = get(f"/incidents?service_ids[]={service}&statuses[]=triggered")["incidents"]
    if incidents:
        break
    time.sleep(0.1)
else:
    sys.exit("no incident was opened: the page did not arrive")

incident = incidents[0]
oncall = get("/oncalls")["oncalls"][0]["user"]["summary"]
assignee = incident["assignments"][0]["assignee"]["summary"]
print(f"PAGED: incident #{incident['incident_number']} \"{incident['title']}\"")
print(f"       assigned to {assignee} (on call now per the hourly rotation: {oncall})")
if assignee != oncall:
    sys.exit("the page went to someone who is not on call")
