// Original file: proto/samveteran/v1/sam_env.proto


export interface InfoRequest {
}

export interface InfoRequest__Output {
}
